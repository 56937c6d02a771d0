#!/usr/bin/env bash
# A tiny GAN PBT-NAS run (jobs/configs/smoke_gan.yaml) under mpirun: it completes, every fitness
# is a finite -FID, the best FID improves over the generations, the best-ever member is
# re-evaluated (finite FID and IS, written to summary.json and best_ever.h5), a sample grid is
# written per member per generation plus one for the final best, the feature classifier is
# trained once and reused, the results do not depend on the number of workers, and a run killed
# after a committed generation resumes to the same results.
source "$(dirname "$0")/lib.sh"
cfg="$WORK/smoke_gan.yaml"
sed "s|cache_dir: \"\"|cache_dir: \"$WORK/cache\"|" "$SRC/jobs/configs/smoke_gan.yaml" >"$cfg"
grep -q "cache_dir: \"$WORK/cache\"" "$cfg" || fail "smoke_gan.yaml layout changed (features.cache_dir)"

run_pbtnas 3 "$cfg" "$WORK/w2"; [[ $rc -eq 0 ]] || { cat "$WORK/w2.log"; fail "GAN run exited $rc"; }
grep -q "classifier features: saved" "$WORK/w2.log" || { cat "$WORK/w2.log"; fail "the feature classifier was not trained and cached"; }
[[ $(grep -c "classifier features: saved" "$WORK/w2.log") -eq 1 ]] || fail "more than one rank trained the classifier"
grep -q " <- " "$WORK/w2.log" || fail "the run made no exchange"
# The final line speaks of FID (the fitness is its negation), and only once.
grep -Eq '^done: best member [0-3]  FID [0-9.]+  parameters [0-9]+$' "$WORK/w2.log" || { cat "$WORK/w2.log"; fail "the final line does not say FID"; }

"$PY" - "$WORK/w2" <<'PYEOF' || fail "GAN run outputs"
import json, math, os, struct, sys, zlib
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + "/metrics.jsonl") if l.strip()]
gens = sorted({r["generation"] for r in rows})
members = sorted({r["member"] for r in rows})
assert gens == [0, 1, 2] and members == [0, 1, 2, 3], (gens, members)
for r in rows:
    assert math.isfinite(r["fitness"]) and r["fitness"] < 0, r  # fitness = -FID
best = [max(r["fitness"] for r in rows if r["generation"] == g) for g in gens]
assert best[-1] > best[0], f"best -FID did not improve: {best}"

s = json.load(open(out + "/summary.json"))
be = s["best_ever"]
assert be["fitness"] == max(r["fitness"] for r in rows), be
assert s["scores"]["FID"] == -s["fitness"], s  # the final population's best, in the task's words
ev = be["evaluation"]
assert ev["fid_samples"] == 400, ev
assert ev["fid"] is not None and math.isfinite(ev["fid"]) and ev["fid"] > 0, ev
assert ev["inception_score"] is not None and 1.0 <= ev["inception_score"] <= 10.0, ev
assert os.path.isfile(out + "/best_ever.h5")

def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and zlib.crc32(data[12:16 + length]) == struct.unpack(">I", data[16 + length:20 + length])[0], path
    w, h, depth, color = struct.unpack(">IIBB", data[16:26])
    return w, h, depth, color

side = 4 * 32 + 5 * 2  # 16 samples: 4 x 4 images of 32 px with 2 px padding
for g in gens:
    for m in members:
        p = f"{out}/samples/gen_{g:06d}/member_{m:03d}.png"
        assert png_size(p) == (side, side, 8, 0), (p, png_size(p))
assert png_size(out + "/samples/final_best.png") == (side, side, 8, 0)
print("ok: best -FID per generation", [round(b, 2) for b in best], "final", ev)
PYEOF

"$PBTNAS" inspect "$WORK/w2/best_ever.h5" >"$WORK/inspect.txt" || fail "pbtnas inspect best_ever.h5 failed"
grep -q "final evaluation:.*fid" "$WORK/inspect.txt" || { cat "$WORK/inspect.txt"; fail "best_ever.h5 lacks the final evaluation"; }

# The reference statistics were computed once and cached next to the classifier.
n=$(ls "$WORK/cache"/pbtnas-reference-stats-*.pt 2>/dev/null | wc -l)
[[ $n -eq 1 ]] || { ls -la "$WORK/cache"; fail "expected one cached reference-statistics file, found $n"; }

# Same seed, three workers instead of two: identical search (the classifier and the reference
# statistics come from the cache, so this also checks that cached statistics change nothing).
run_pbtnas 4 "$cfg" "$WORK/w3"; [[ $rc -eq 0 ]] || { cat "$WORK/w3.log"; fail "3-worker GAN run exited $rc"; }
grep -q "classifier features: saved" "$WORK/w3.log" && fail "the cached feature classifier was trained again"
grep -q "classifier features: loaded" "$WORK/w3.log" || fail "the second run did not load the cached classifier"
fingerprint "$WORK/w2" >"$WORK/a.txt"
fingerprint "$WORK/w3" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "GAN results differ between 2 and 3 workers"

# Rank 0 killed (testing.crash_after_commit) right after generation 2 is committed, then the
# same command resumes: same search, same best_ever.h5 evaluation and the same final grid as the
# uninterrupted run.
crash_and_resume "$cfg" "$WORK/k" 3
fingerprint "$WORK/k" >"$WORK/c.txt"
diff "$WORK/a.txt" "$WORK/c.txt" || fail "the resumed GAN run differs from the uninterrupted one"
"$PY" - "$WORK/w2" "$WORK/k" <<'PYEOF' || fail "final evaluation after resume"
import json, sys
a, b = (json.load(open(d + "/summary.json"))["best_ever"] for d in sys.argv[1:])
assert a["evaluation"] == b["evaluation"] and a["generation"] == b["generation"], (a, b)
PYEOF
cmp "$WORK/w2/samples/final_best.png" "$WORK/k/samples/final_best.png" || fail "final grids differ after resume"
pass "GAN run: finite FIDs improving, final FID/IS, grids, cached classifier, worker-count independent, kill + resume identical"
