#!/usr/bin/env bash
# A search on "your own data" under mpirun (3 ranks): a generated RGB image-folder data set
# (jobs/tools/make_demo_images.py: 4 classes of 16x16 PNG images, class folders, a separate test
# folder), then the same data set as HDF5 files written by h5py. Both runs finish, report
# accuracies above chance, and the members' networks take 3 channels and give 4 classes.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0
source "$(dirname "$0")/lib.sh"
"$PY" -c "import numpy, h5py" 2>/dev/null || skip "Debian's /usr/bin/python3 lacks numpy or h5py (apt install python3-numpy python3-h5py)"
"$PY" "$SRC/jobs/tools/make_demo_images.py" "$WORK/data" --size 16 --classes 4 --train 40 --test 10 >/dev/null \
  || fail "make_demo_images.py failed"

for format in folder hdf5; do
  case $format in
    folder) train=folder/train test=folder/test ;;
    hdf5) train=train.h5 test=test.h5 ;;
  esac
  cfg="$WORK/$format.yaml"
  sed -e "s|dir: out/demo_images .*|dir: $WORK/data|" -e "s|format: folder .*|format: $format|" \
      -e "s|train: folder/train .*|train: $train|" -e "s|test: folder/test .*|test: $test|" \
      -e "s|max_epochs: .*|max_epochs: 3|" -e "s|^seed: .*|seed: 5|" \
      "$SRC/jobs/configs/demo_folder_classify.yaml" >"$cfg"
  grep -q "format: $format" "$cfg" && grep -q "dir: $WORK/data" "$cfg" || fail "demo config layout changed"
  out="$WORK/$format"
  run_pbtnas 3 "$cfg" "$out"
  [[ $rc -eq 0 ]] || { cat "$out.log"; fail "$format: the run exited $rc"; }
  grep -q "^done: best member" "$out.log" || { cat "$out.log"; fail "$format: no final summary line"; }
  "$PY" - "$out" "$SRC/jobs/tools" <<'PYEOF' || { cat "$out.log"; fail "$format: the run's results are wrong"; }
import json, sys
sys.path.insert(0, sys.argv[2])
import pbtnas_h5
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
text = json.dumps(s)
rows = [json.loads(l) for l in open(out + "/metrics.jsonl")]
assert len(rows) == 12, len(rows)
best = max(r["fitness"] for r in rows)
assert best > 0.5, f"best validation accuracy {best} is not above chance (0.25) by a margin"
state = pbtnas_h5.read_state(out + "/best_ever.h5", "model.")
assert state["model.head.weight"].shape[0] == 4, state["model.head.weight"].shape
assert state["model.stem.conv.weight"].shape[1] == 3, state["model.stem.conv.weight"].shape
print("best validation accuracy", best)
PYEOF
  pass "$format: a search on a generated RGB data set (4 classes, 16x16) runs and learns"
done
