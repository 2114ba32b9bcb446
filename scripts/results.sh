#!/usr/bin/env bash
# The figures of docs/results.md: DDIM's promises measured on the embedded model (or MODEL=DIR)
# with `ddim` itself, scored by scripts/eval_digits.py.
#
#   PY=~/ddim-py/bin/python scripts/results.sh /tmp/results
#
# 1. inversion: N_INV real digits (balanced) → `ddim invert --steps …` → MSE per S (Table 2)
# 2. consistency: `ddim compare` at η = 0 and 1, and η = 0 unclipped → MSE of each S to the largest
#    (docs/results-compare-*.png)
# 3. interpolation: docs/results-interpolation.png
# 4. Table 1: `ddim sweep` over S × η, N_SWEEP samples per cell → digit-FID and confident share
# 5. docs/results-table1.png, docs/results-inversion.png from the JSON files
# Knobs (environment); the defaults are the third session's full run (~2 h on 2 cores), and
# docs/results.md is now N_INV_1000=20 SWEEP_1000=0,1 (~1½ h): N_INV (100),
# INV_STEPS (10,20,50,100,200), N_INV_1000 (100: S = 1000 on the first N_INV_1000 digits),
# N_SWEEP (100), SWEEP_STEPS (10,20,50,100), SWEEP_ETAS (0,0.2,0.5,1,hat), SWEEP_1000
# (0,0.2,0.5,1,hat: the η values that also get an S = 1000 cell, "" for none), N_SWEEP_1000 (20:
# samples in those cells), COMPARE_STEPS (10,20,50,100,1000), THREADS, DDIM (the binary: a copy
# keeps a long run safe from rebuilds of .build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/ddim-results}
PY=${PY:-python3}
DDIM=${DDIM:-.build/release/ddim}
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
mkdir -p "$out"

# 1. inversion
"$PY" scripts/eval_digits.py --export-digits "$out/digits" --n "${N_INV:-100}" --seed 0
"$DDIM" invert "${model[@]}" "${threads[@]}" --images "$out/digits" --steps "${INV_STEPS:-10,20,50,100,200}" --batch 50 --json \
  > "$out/inversion.json"
"$DDIM" invert "${model[@]}" "${threads[@]}" --images "$out/digits" --limit "${N_INV_1000:-100}" --steps 1000 --batch 50 --json \
  > "$out/inversion-1000.json"
cat "$out/inversion.json"; echo; cat "$out/inversion-1000.json"; echo

# 2. consistency
for eta in 0 1; do
  "$DDIM" compare "${model[@]}" "${threads[@]}" --steps "${COMPARE_STEPS:-10,20,50,100,1000}" --eta "$eta" --seed 0 --batch 4 \
    --out "$out/compare-eta$eta.png" --json > "$out/compare-eta$eta.json"
  cat "$out/compare-eta$eta.json"; echo
done

# the paper's sampler (no x̂₀ clipping): consistent up to S = 1000 (docs/results.md §1)
"$DDIM" compare "${model[@]}" "${threads[@]}" --steps "${COMPARE_STEPS:-10,20,50,100,1000}" --eta 0 --seed 0 --batch 4 --no-clip \
  --out "$out/compare-noclip.png" --json > "$out/compare-noclip.json"
cat "$out/compare-noclip.json"; echo

cp "$out/compare-eta0.png" docs/results-compare-eta0.png
cp "$out/compare-eta1.png" docs/results-compare-eta1.png
cp "$out/compare-noclip.png" docs/results-compare-noclip.png

# 3. interpolation
"$DDIM" interpolate "${model[@]}" "${threads[@]}" --seeds 1,2 --frames 11 --steps 50 --out docs/results-interpolation.png --quiet

"$PY" scripts/plot_results.py "$out"   # the inversion plot now; Table 1's after the sweep

# 4. Table 1 (the longest part: last)
"$DDIM" sweep "${model[@]}" "${threads[@]}" --steps "${SWEEP_STEPS:-10,20,50,100}" --eta "${SWEEP_ETAS:-0,0.2,0.5,1,hat}" \
  --n "${N_SWEEP:-100}" --batch 50 --seed 0 --out-dir "$out/sweep" --quiet
if [ -n "${SWEEP_1000-0,0.2,0.5,1,hat}" ]; then
  "$DDIM" sweep "${model[@]}" "${threads[@]}" --steps 1000 --eta "${SWEEP_1000-0,0.2,0.5,1,hat}" --n "${N_SWEEP_1000:-20}" --batch 50 --seed 0 \
    --out-dir "$out/sweep" --quiet
  # sweep.json lists the last run's cells; list every cell folder for the scorer
  "$PY" - "$out/sweep" <<'PYEOF'
import json, os, re, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "sweep.json")))
cells = []
for name in sorted(os.listdir(d)):
    g = re.fullmatch(r"s(\d+)-e(.+)", name)
    if g and os.path.isdir(os.path.join(d, name)):
        cells.append({"steps": int(g[1]), "eta": g[2], "folder": name})
m["cells"] = sorted(cells, key=lambda c: (c["steps"], c["eta"]))
json.dump(m, open(os.path.join(d, "sweep.json"), "w"), indent=2)
PYEOF
fi
"$PY" scripts/eval_digits.py --sweep "$out/sweep" | tee "$out/table1.md"

# 5. plots
"$PY" scripts/plot_results.py "$out"
