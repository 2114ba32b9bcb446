#!/usr/bin/env bash
# The quality figures of the model card: samples made by `ddim sample` itself (the embedded
# model unless MODEL=DIR), scored by scripts/eval_digits.py.
#
#   PY=~/ddim-py/bin/python N=500 scripts/eval_default.sh /tmp/eval      # writes /tmp/eval/figures.md
#   (MODEL=DIR scores another model folder; DDIM=PATH another ddim binary)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/ddim-eval}
PY=${PY:-python3}
N=${N:-500}
DDIM=${DDIM:-.build/release/ddim}
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
mkdir -p "$out"
echo "| S | η | n | confident (p ≥ 0.9) | smallest class share | digit-FID | sampling time |" > "$out/figures.md"
echo "| --- | --- | --- | --- | --- | --- | --- |" >> "$out/figures.md"
for cfg in "50 0" "10 0" "50 1" "10 1"; do
  set -- $cfg
  dir="$out/s$1-eta$2"
  rm -rf "$dir"
  start=$(date +%s)
  "$DDIM" sample "${model[@]}" --steps "$1" --eta "$2" --batch "$N" --seed 1000 --out-dir "$dir" --quiet
  secs=$(( $(date +%s) - start ))
  "$PY" scripts/eval_digits.py "$dir" --json > "$dir.json"
  "$PY" - "$dir.json" "$1" "$2" "$N" "$secs" >> "$out/figures.md" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
shares = r["class_share"]
low = min(shares, key=shares.get)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {r['confident'] * 100:.1f} % | {shares[low] * 100:.1f} % (class {low}) | {r['digit_fid']:.1f} | {sys.argv[5]} s |")
PYEOF
  cat "$out/figures.md" | tail -1
done
"$PY" scripts/eval_digits.py --real --n "$N" --json > "$out/real.json"
echo "real digits, n = $N against all 5,000: $(cat "$out/real.json" | tr -d '\n' | head -c 400)"
