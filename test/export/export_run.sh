#!/usr/bin/env bash
# `pbtnas export` end to end: a tiny classify run and tiny GAN runs (GanHard, GanEasy) under
# mpirun; each run's best_ever.h5 (and one generation's member file) is exported, and a Python
# script under /usr/bin/python3 (Debian's python3-torch, the same build as LibTorch) rebuilds
# each network with jobs/tools/pbtnas_models.py, loads model.pt strictly and checks that its
# outputs on example.pt's inputs equal pbtnas's (torch.allclose, rtol 1e-4, atol 1e-5; the
# measured difference is printed); random genomes covering every option go the same way
# (random_genomes.py, needs h5py). Bad inputs (missing file, non-member files, a member file
# without its run directory) exit with code 2 and a message naming the problem and the fix.
# Usage: export_run.sh PBTNAS_BINARY SOURCE_DIR. Exit code 77 (skipped) without torch, h5py or
# numpy in Debian's Python.
set -euo pipefail
if ! /usr/bin/python3 -c "import torch, h5py, numpy" >/dev/null 2>&1; then
  echo "SKIPPED: /usr/bin/python3 cannot import torch, h5py and numpy (install python3-torch python3-h5py python3-numpy)"
  exit 77
fi
source "$(dirname "$0")/../mpi/lib.sh"
TOOLS="$SRC/jobs/tools"

# expect_error DESCRIPTION 'regex the message must match' ARGS... : exit code 2 and the message.
expect_error() {
  local what=$1 pattern=$2
  shift 2
  set +e
  "$PBTNAS" export "$@" >"$WORK/err.out" 2>"$WORK/err.txt"
  local code=$?
  set -e
  [[ $code -eq 2 ]] || { cat "$WORK/err.out" "$WORK/err.txt"; fail "$what: exit code $code, expected 2"; }
  grep -Eq "$pattern" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "$what: message does not match /$pattern/"; }
  echo "ok: $what -> $(head -c 300 "$WORK/err.txt")"
}

# --- runs
run_pbtnas 3 "$SRC/jobs/configs/smoke_classify.yaml" "$WORK/cls"
[[ $rc -eq 0 ]] || { cat "$WORK/cls.log"; fail "classify run exited $rc"; }
gan_cfg="$WORK/smoke_gan.yaml"
sed "s|cache_dir: \"\"|cache_dir: \"$WORK/cache\"|" "$SRC/jobs/configs/smoke_gan.yaml" >"$gan_cfg"
grep -q "cache_dir: \"$WORK/cache\"" "$gan_cfg" || fail "smoke_gan.yaml layout changed (features.cache_dir)"
run_pbtnas 3 "$gan_cfg" "$WORK/ganhard"
[[ $rc -eq 0 ]] || { cat "$WORK/ganhard.log"; fail "GanHard run exited $rc"; }
easy_cfg="$WORK/smoke_ganeasy.yaml"
sed -e 's/space: gan_hard/space: gan_easy/' -e 's/^max_epochs: .*/max_epochs: 1/' -e 's/final_fid_samples: .*/final_fid_samples: 0/' \
  "$gan_cfg" >"$easy_cfg"
grep -q "space: gan_easy" "$easy_cfg" || fail "smoke_gan.yaml layout changed (space)"
run_pbtnas 3 "$easy_cfg" "$WORK/ganeasy"
[[ $rc -eq 0 ]] || { cat "$WORK/ganeasy.log"; fail "GanEasy run exited $rc"; }

# --- exports
export_ok() {  # export_ok FILE DIR [extra args]
  local file=$1 dir=$2
  shift 2
  "$PBTNAS" export "$file" --out "$dir" "$@" >"$dir.log" 2>&1 || { cat "$dir.log"; fail "pbtnas export $file exited $?"; }
  for f in model.pt example.pt architecture.json; do
    [[ -s "$dir/$f" ]] || fail "pbtnas export $file wrote no $f"
  done
}
export_ok "$WORK/cls/best_ever.h5" "$WORK/x_cls"
export_ok "$WORK/cls/checkpoints/gen_000001/member_002.h5" "$WORK/x_cls_member"
export_ok "$WORK/ganhard/best_ever.h5" "$WORK/x_ganhard"
export_ok "$WORK/ganeasy/best_ever.h5" "$WORK/x_ganeasy"
[[ -s "$WORK/x_ganhard/discriminator.pt" ]] || fail "the GAN export has no discriminator.pt"
# A member file away from its run directory needs --config, and works with it.
mkdir -p "$WORK/lonely"
cp "$WORK/cls/best_ever.h5" "$WORK/lonely/member.h5"
expect_error "member file without its run directory" "cannot find the run's config.*--config" \
  "$WORK/lonely/member.h5" --out "$WORK/x_lonely"
export_ok "$WORK/lonely/member.h5" "$WORK/x_lonely" --config "$SRC/jobs/configs/smoke_classify.yaml"
cmp "$WORK/x_cls/model.pt" "$WORK/x_lonely/model.pt" || fail "--config gives another model.pt than the run's index"
# A config of another task does not fit the member's genome.
expect_error "member file with another run's config" "does not belong to the run.*--config" \
  "$WORK/lonely/member.h5" --out "$WORK/x_wrong" --config "$gan_cfg"

# --- bad inputs
expect_error "missing file" "does not exist.*member file: OUT/best_ever.h5" "$WORK/nope.h5" --out "$WORK/x_bad"
echo "not a checkpoint" >"$WORK/notes.txt"
expect_error "text file" "not a pbtnas checkpoint.*member file: OUT/best_ever.h5" "$WORK/notes.txt" --out "$WORK/x_bad"
expect_error "index file" "'pbtnas-index' file.*member" "$WORK/cls/checkpoints/gen_000001/index.h5" --out "$WORK/x_bad"
[[ -e "$WORK/x_bad" ]] && fail "a failed export created its output folder"
# --out: a folder with someone else's files is refused untouched; an earlier export is replaced.
mkdir -p "$WORK/x_mine"
echo keep >"$WORK/x_mine/notes.txt"
expect_error "a folder with other files" "holds other files and no earlier pbtnas export" "$WORK/cls/best_ever.h5" --out "$WORK/x_mine"
[[ "$(cat "$WORK/x_mine/notes.txt")" == keep && ! -e "$WORK/x_mine/model.pt" ]] || fail "a refused export touched the folder"
expect_error "a file as --out" "is a file; pass a folder" "$WORK/cls/best_ever.h5" --out "$WORK/notes.txt"
export_ok "$WORK/cls/best_ever.h5" "$WORK/x_cls"

# --- rebuild in Python and compare
PYTHONPATH="$TOOLS" OMP_NUM_THREADS=1 "$PY" - "$WORK" <<'PYEOF' || fail "Python rebuild"
import json, sys
import torch
import pbtnas_models

torch.set_num_threads(1)
work = sys.argv[1]
expect = {"x_cls": ("classify_cnn", "classifier"), "x_cls_member": ("classify_cnn", "classifier"),
          "x_lonely": ("classify_cnn", "classifier"),
          "x_ganhard": ("gan_hard", "generator"), "x_ganeasy": ("gan_easy", "generator")}
worst = 0.0
for name, (space, network) in expect.items():
    d = f"{work}/{name}"
    arch = json.load(open(d + "/architecture.json"))
    assert arch["format"] == "pbtnas-export" and arch["space"] == space and arch["network"] == network, arch
    assert len(arch["genome"]) == len(arch["genes"]), arch
    for g, gene in zip(arch["genome"], arch["genes"]):
        assert gene["option"] == g and gene["name"] and gene["option_name"], gene
    state = torch.load(d + "/model.pt")
    assert isinstance(state, dict) and all(isinstance(t, torch.Tensor) for t in state.values())
    net = pbtnas_models.load(d)  # load_state_dict(strict=True)
    assert not net.training
    assert set(net.state_dict()) == set(state), "module names differ from the exported ones"
    ex = torch.load(d + "/example.pt")
    assert set(ex) == {"input", "output"}, ex.keys()
    with torch.no_grad():
        out = net(ex["input"])
    assert out.shape == ex["output"].shape, (out.shape, ex["output"].shape)
    diff = (out - ex["output"]).abs().max().item()
    worst = max(worst, diff)
    ok = torch.allclose(out, ex["output"], rtol=pbtnas_models.RTOL, atol=pbtnas_models.ATOL)
    print(f"{name}: {space} {network}, {len(state)} tensors, output {tuple(out.shape)}, max abs diff {diff:.3g}")
    assert ok, f"{name}: the rebuilt network differs from pbtnas (max abs diff {diff})"
    if network == "generator":
        assert out.abs().max().item() <= 1.0
        d_state = torch.load(d + "/discriminator.pt")
        assert all(k.startswith("block") or k.startswith("l5") for k in d_state), list(d_state)[:5]
    ok2, diff2 = pbtnas_models.check(d)
    assert ok2 and diff2 == diff
# best_ever.h5 carries the final evaluation; the export passes it on.
arch = json.load(open(work + "/x_ganhard/architecture.json"))
assert arch["source"]["evaluation"].get("fid") is not None, arch["source"]
print(f"max abs difference over all exports: {worst:.3g} (tolerance rtol {pbtnas_models.RTOL}, atol {pbtnas_models.ATOL})")
PYEOF

# Random genomes (every option of every network gene) with random weights, written as member
# files with h5py and exported: names, shapes and outputs must match (random_genomes.py).
PYTHONPATH="$TOOLS" OMP_NUM_THREADS=1 "$PY" "$(dirname "$0")/random_genomes.py" "$PBTNAS" "$WORK" 8 \
  "$WORK/x_cls:$WORK/cls/best_ever.h5:$SRC/jobs/configs/smoke_classify.yaml" \
  "$WORK/x_ganhard:$WORK/ganhard/best_ever.h5:$gan_cfg" \
  "$WORK/x_ganeasy:$WORK/ganeasy/best_ever.h5:$easy_cfg" || fail "random genomes through export"

# The module's own command line.
PYTHONPATH="$TOOLS" "$PY" "$TOOLS/pbtnas_models.py" "$WORK/x_ganhard" || fail "pbtnas_models.py DIR failed"
pass "export: classifier, GanHard and GanEasy generators (run members and random genomes) rebuilt in PyTorch match pbtnas; bad inputs exit 2"
