#!/usr/bin/env bash
# The live sampler against headless `ddim sample`, taking turns on the machine:
#
#   scripts/tui_interleaved.sh [SLICES (30)] [SLICE_SECONDS (0.3)] [BATCH (4)] [MODEL_DIR]    (DDIM=PATH: another binary)
#
# GRAPHICS=kitty|sixel|iterm|blocks: the live sampler's tiles in that protocol (--graphics; tmux
# drops the pictures after parsing them, so what is measured is ddim's encoding and writing).
#
# Comparing separate runs of the two cannot resolve a 5 % difference on a shared machine whose
# speed drifts by 10–30 % over seconds. Here both programs run at once in one tmux server — the
# live sampler (160×48, truecolour) in one window, `ddim sample` with its progress bar in another —
# and only one of them is ever let run: each slice continues one program (SIGCONT) for
# SLICE_SECONDS and stops it again (SIGSTOP), the two taking turns, so both meet the machine's
# state of the moment. The steps each made in its slice are read off its screen while both are
# stopped (the live sampler's progress line lags its worker by up to a frame, ~0.07 s, at both
# ends of a slice alike, so the differences are unbiased). Prints live / headless steps a second,
# the median over pairs of adjacent slices with its range, and the ratio of the totals.
#
# What favours the live sampler here: the headless progress bar (a line of ~80 bytes a step to
# the terminal) is a cost `ddim sample -q` does not have. What favours headless: nothing known.
set -euo pipefail
cd "$(dirname "$0")/.."
slices=${1:-30}
slice=${2:-0.3}
batch=${3:-4}
model=()
[ -n "${4:-}" ] && model=(--model "$4")
ddim=${DDIM:-$PWD/.build/release/ddim}
# the live sampler unpaced, as fast as headless can be (a binary from before --pace is unpaced anyway)
pace=""; "$ddim" live --help 2>/dev/null | grep -q -- "--pace" && pace="--pace 0"
[ -n "${GRAPHICS:-}" ] && pace="$pace --graphics $GRAPHICS"
sock=ddim-interleaved-$$
steps=1000  # the most a DDPM schedule of 1000 timesteps allows; SLICES × SLICE_SECONDS must stay below its run
live_pid=""; headless_pid=""
cleanup() {
  for p in $live_pid $headless_pid; do kill -CONT "$p" 2>/dev/null || true; done
  tmux -L "$sock" kill-server 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }
# Each program runs under a shell: tmux continues a pane's own process when it stops (it sends
# SIGCONT to a stopped child), not the shell's child.
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 48 \
  "env TERM=xterm-256color COLORTERM=truecolor $ddim ${model[*]} $pace --steps $steps --batch $batch --seed 1 --eta 0; sleep 600"
tmux -L "$sock" new-window -d \
  "env TERM=xterm-256color $ddim sample ${model[*]} --steps $steps --batch $batch --seed 1 --eta 0 --out /tmp/ddim-interleaved.png; sleep 600"

# the step count on a window's screen ("step 123/20000")
step_of() { tmux -L "$sock" capture-pane -p -t ":$1" | grep -o "step [0-9]*/$steps" | head -1 | sed 's/step \([0-9]*\)\/.*/\1/'; }

# both load and start sampling (running at once for this part), then both stop
until [ -n "$(step_of 0)" ] && [ "$(step_of 0)" -gt 2 ] && [ -n "$(step_of 1)" ] && [ "$(step_of 1)" -gt 2 ]; do sleep 0.2; done
child() { pgrep -P "$(tmux -L "$sock" display -p -t ":$1" '#{pane_pid}')" -f "$2" | head -1; }
live_pid=$(child 0 "$ddim")
headless_pid=$(child 1 "ddim sample")
[ -n "$live_pid" ] && [ -n "$headless_pid" ] || { echo "the ddim processes were not found" >&2; exit 1; }
kill -STOP "$live_pid" "$headless_pid"
sleep 0.2

# run one window's program for a slice; prints "steps seconds"
run_slice() {
  local pid=$1 window=$2 a b t0 t1
  a=$(step_of "$window")
  t0=$(now); kill -CONT "$pid"; sleep "$slice"; kill -STOP "$pid"; t1=$(now)
  sleep 0.1  # let a last frame or bar line land
  b=$(step_of "$window")
  awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%d %.4f", b - a, t1 - t0}'
}

ratios=()
live_steps=0; live_seconds=0; headless_steps=0; headless_seconds=0
for i in $(seq "$slices"); do
  # alternate which goes first, so neither always follows the other
  if [ $((i % 2)) = 1 ]; then
    read -r ls lt <<<"$(run_slice "$live_pid" 0)"; read -r hs ht <<<"$(run_slice "$headless_pid" 1)"
  else
    read -r hs ht <<<"$(run_slice "$headless_pid" 1)"; read -r ls lt <<<"$(run_slice "$live_pid" 0)"
  fi
  live_steps=$((live_steps + ls)); headless_steps=$((headless_steps + hs))
  live_seconds=$(awk -v a="$live_seconds" -v b="$lt" 'BEGIN {print a + b}')
  headless_seconds=$(awk -v a="$headless_seconds" -v b="$ht" 'BEGIN {print a + b}')
  # headless steps a second over live steps a second: how much longer live takes
  r=$(awk -v ls="$ls" -v lt="$lt" -v hs="$hs" -v ht="$ht" 'BEGIN {if (ls > 0) printf "%.4f", (hs / ht) / (ls / lt); else print "inf"}')
  ratios+=("$r")
  echo "pair $i: live $ls steps in $lt s, headless $hs steps in $ht s: $r"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}'; }
echo "batch $batch, $slices pairs of ${slice} s slices: live / headless time a step" \
  "$(median "${ratios[@]}" | awk '{printf "%.3f", $1}') (median of pairs, range $(range "${ratios[@]}")); totals:" \
  "live $live_steps steps in $live_seconds s, headless $headless_steps in $headless_seconds s:" \
  "$(awk -v ls="$live_steps" -v lt="$live_seconds" -v hs="$headless_steps" -v ht="$headless_seconds" 'BEGIN {printf "%.3f", (hs / ht) / (ls / lt)}')"
