#!/usr/bin/env bash
# A/B of two ddim builds or settings on one model, alternating, for this noisy machine:
#
#   scripts/bench_ab.sh ROUNDS "BENCH ARGS" A B
#
# A and B are each a binary path, or `env NAME=VALUE` settings for the default binary
# (.build/release/ddim; DDIM=PATH for another), e.g.
#
#   scripts/bench_ab.sh 8 "--batch 4 --runs 20" /tmp/old/ddim .build/release/ddim
#   scripts/bench_ab.sh 6 "--model /tmp/bench/cifar10-32 --runs 5" DDIM_WINOGRAD=2x2 -
#
# ("-" is the default binary as it is). Each round runs `ddim bench ARGS --json` once with A
# and once with B; printed per side: the median of the rounds' medians, the smallest single
# forward, and every round's median. On this 2-core VM the same command's median moves ±30 %
# between rounds at 2 threads; decide on differences larger than that spread, or use
# `--threads 1`, which moves less.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { echo "usage: $0 ROUNDS \"BENCH ARGS\" A B" >&2; exit 64; }
rounds=$1
read -r -a args <<< "$2"
ddim=${DDIM:-$PWD/.build/release/ddim}
run() {
    if [ "$1" = "-" ]; then "$ddim" bench "${args[@]}" --json
    elif [[ "$1" == *=* ]]; then env "$1" "$ddim" bench "${args[@]}" --json
    else "$1" bench "${args[@]}" --json
    fi
}
for _ in $(seq "$rounds"); do
    for side in "$3" "$4"; do
        printf '%s\t%s\n' "$side" "$(run "$side" | tail -1)"
    done
done | python3 -c '
import json, statistics, sys
rounds = {}
for line in sys.stdin:
    side, js = line.rstrip("\n").split("\t", 1)
    d = json.loads(js)
    rounds.setdefault(side, []).append((d["median_ms"], d["min_ms"]))
for side, v in rounds.items():
    medians = sorted(m for m, _ in v)
    print(f"{side}: median of medians {statistics.median(medians):.2f} ms, min {min(n for _, n in v):.2f} ms, "
          f"medians {[round(m, 1) for m in medians]}")
'
