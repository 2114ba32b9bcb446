#!/usr/bin/env bash
# The live sampler's throughput against headless `ddim sample`, same model, steps, batch, seed:
#
#   scripts/tui_throughput.sh [STEPS (200)] [BATCH (4)] [ROUNDS (3)] [MODEL_DIR]    (DDIM=PATH: another binary)
#
# Headless: wall time of `ddim sample`. Live: `ddim` in a private tmux server (160×48, truecolour),
# from launch until its status bar says "done". Both include start-up and model loading; rounds
# alternate the two. Each round also times a 1-step run of each, so that start-up (the model,
# ncurses, tmux's server and pane, the poll) can be taken out: sampling throughput is
# (STEPS − 1) / (t(STEPS) − t(1)), the steps a second once running, which is what the live
# sampler must not lose. Prints one line per round and, as live / headless (1.05 = the TUI loses
# 5 %), the ratio of the medians of the end-to-end times, the median of the rounds' own
# end-to-end ratios, and the median of the rounds' throughput ratios (headless steps a second over
# live; a round's runs came seconds apart, under the same load from other tenants). Each long
# live run also prints the CPU time of ddim's UI thread, of all of ddim and of the tmux server:
# the UI's cost in CPU seconds, which a busy machine does not distort.
#
# The poll is itself CPU work (a tmux client and a capture of the pane each time): polled every
# 20 ms for a whole run, it took a noticeable share of a 2-core machine away from the sampler.
# So the live run is first left alone for POLL_AFTER (0.9) × this round's headless time and only
# then polled every 20 ms. A live run that finished sooner reads as that long: the error can only
# make the TUI look slower, never faster. POLL_AFTER=0 polls from the start (the old way).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
batch=${2:-4}
rounds=${3:-3}
model=()
[ -n "${4:-}" ] && model=(--model "$4")
ddim=${DDIM:-$PWD/.build/release/ddim}
sock=ddim-throughput-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.6f\", $1}"; }
# user + system CPU seconds of a /proc/…/stat (fields 14 and 15, in clock ticks)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' "$1"; }

# headless N: seconds of `ddim sample` with N steps
headless_run() {
  local t0 t1
  t0=$(now)
  "$ddim" sample "${model[@]}" --steps "$1" --batch "$batch" --seed 1 --eta 0 --out /tmp/ddim-throughput.png -q
  t1=$(now)
  calc "$t1 - $t0"
}

# live N H: seconds of the live sampler with N steps, first left alone for POLL_AFTER × H; the
# CPU figures of the run in $cpu_line
live_run() {
  local t0 t1 pid server ui all term
  t0=$(now)
  tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 48 \
    "env TERM=xterm-256color COLORTERM=truecolor $ddim ${model[*]} --steps $1 --batch $batch --seed 1 --eta 0"
  sleep "$(calc "${POLL_AFTER:-0.9} * $2")"
  until tmux -L "$sock" capture-pane -p -t 0 2>/dev/null | grep -q "done"; do sleep 0.02; done
  t1=$(now)
  # CPU seconds, robust to a busy machine: ddim's UI (main) thread, all of ddim, the tmux server
  pid=$(tmux -L "$sock" display -p -t 0 '#{pane_pid}')
  server=$(tmux -L "$sock" display -p '#{pid}')
  ui=$(cpu "/proc/$pid/task/$pid/stat"); all=$(cpu "/proc/$pid/stat"); term=$(cpu "/proc/$server/stat")
  tmux -L "$sock" kill-server
  cpu_line="UI thread ${ui} s, ddim ${all} s, tmux server ${term} s"
  calc "$t1 - $t0"
}

headless=()
live=()
ratios=()
throughput=()
for r in $(seq "$rounds"); do
  h1=$(headless_run 1)
  l1=$(live_run 1 "$h1")
  h=$(headless_run "$steps")
  live_run "$steps" "$h" > /tmp/ddim-throughput-live.txt
  l=$(cat /tmp/ddim-throughput-live.txt)
  headless+=("$h")
  live+=("$l")
  ratios+=("$(calc "$l / $h")")
  throughput+=("$(calc "($l - $l1) / ($h - $h1)")")
  echo "round $r: headless ${h} s (1 step: ${h1} s), live ${l} s (1 step: ${l1} s); CPU: ${cpu_line:-?}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}'; }
mh=$(median "${headless[@]}")
ml=$(median "${live[@]}")
echo "steps $steps, batch $batch: headless median ${mh} s, live median ${ml} s; live / headless:" \
  "$(awk -v l="$ml" -v h="$mh" 'BEGIN {printf "%.3f", l / h}') (medians)," \
  "$(median "${ratios[@]}" | awk '{printf "%.3f", $1}') (rounds' own, $(range "${ratios[@]}"))," \
  "sampling throughput $(median "${throughput[@]}" | awk '{printf "%.3f", $1}') (rounds' own, start-up taken out, $(range "${throughput[@]}"))"
