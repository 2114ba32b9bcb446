#!/usr/bin/env bash
# The live sampler's throughput against headless `ddim sample`, same model, steps, batch, seed:
#
#   scripts/tui_throughput.sh [STEPS (200)] [BATCH (4)] [ROUNDS (9)] [MODEL_DIR]    (DDIM=PATH: another binary)
#
# Two measurements. The first compares separate processes, as a user would; the second is the
# precise one, because this kind of machine drifts by 10–30 % over seconds (other tenants), more
# than the effect measured.
#
# Each round runs both, in alternating order (a round's two runs come seconds apart, under the
# same load from other tenants of the machine):
# - headless: `ddim sample`, whose closing line on stderr gives its sampling time — from the
#   start of the first step to the end of the last;
# - live: `ddim` in a private tmux server (160×48, truecolour), whose progress line gives the
#   same time once the run is done ("200 steps in 2.413 s"), measured the same way by its worker.
# Throughput is steps a second while sampling; the figure is live / headless sampling time
# (1.05 = the TUI loses 5 %), the median of the rounds' own ratios, with their range. Start-up
# (loading the model, ncurses, tmux's server and pane) is not sampling and is left out by both;
# the end-to-end wall times are printed as well, from launch until the result is there (the live
# one polled every 0.1 s once 0.9 × the round's headless time has passed: ±0.1 s).
#
# Then MEASURE_RUNS (3) live runs of max(STEPS, 1000) steps with `--measure-ui 25`: each run
# alternates blocks of 25 steps drawn live with 25 steps not drawn at all (~0.3 s each), the
# worker timing every block, so both kinds share the machine's state of the moment. Their
# ratio, drawn / not drawn, is what drawing costs sampling: the median over the runs is printed.
# Each follows a headless run of the same length, and the blocks not drawn are compared with it
# (ms a step): that they match, up to the machine's drift, shows nothing but the drawing sets
# the two programs apart.
#
# Each live run also prints the CPU time of ddim's UI thread, of all of ddim and of the tmux
# server: the UI's cost in CPU seconds, which a busy machine does not distort. On two cores every
# CPU millisecond the UI or the terminal takes is about a millisecond the model's threads wait.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
batch=${2:-4}
rounds=${3:-9}
model=()
[ -n "${4:-}" ] && model=(--model "$4")
ddim=${DDIM:-$PWD/.build/release/ddim}
# the live sampler unpaced, as fast as headless can be (a binary from before --pace is unpaced
# anyway; --measure-ui implies --pace 0)
pace=""; "$ddim" live --help 2>/dev/null | grep -q -- "--pace" && pace="--pace 0"
sock=ddim-throughput-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.6f\", $1}"; }
# user + system CPU seconds of a /proc/…/stat (fields 14 and 15, in clock ticks)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' "$1"; }
# the seconds in "… in 2.413 s …"
seconds_of() { sed -n 's/.* in \([0-9.]*\) s .*/\1/p' | tail -1; }

# headless: sets h_wall and h_run
headless_run() {
  local t0 t1 line
  t0=$(now)
  line=$("$ddim" sample "${model[@]}" --steps "$steps" --batch "$batch" --seed 1 --eta 0 --out /tmp/ddim-throughput.png 2>&1 >/dev/null)
  t1=$(now)
  h_wall=$(calc "$t1 - $t0")
  h_run=$(printf '%s\n' "$line" | seconds_of)
  [ -n "$h_run" ] || { echo "no sampling time in ddim sample's output: $line" >&2; exit 1; }
}

# live (left alone for 0.9 × WAIT seconds first): sets l_wall, l_run and cpu_line
live_run() {
  local t0 t1 pid server ui all term screen
  t0=$(now)
  tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 48 \
    "env TERM=xterm-256color COLORTERM=truecolor $ddim ${model[*]} $pace --steps $steps --batch $batch --seed 1 --eta 0"
  sleep "$(calc "0.9 * $1")"
  until screen=$(tmux -L "$sock" capture-pane -p -t 0 2>/dev/null) && grep -q "steps in .* s " <<<"$screen"; do sleep 0.1; done
  t1=$(now)
  l_wall=$(calc "$t1 - $t0")
  l_run=$(grep "steps in .* s " <<<"$screen" | seconds_of)
  # CPU seconds: ddim's UI (main) thread, all of ddim, the tmux server
  pid=$(tmux -L "$sock" display -p -t 0 '#{pane_pid}')
  server=$(tmux -L "$sock" display -p '#{pid}')
  ui=$(cpu "/proc/$pid/task/$pid/stat"); all=$(cpu "/proc/$pid/stat"); term=$(cpu "/proc/$server/stat")
  tmux -L "$sock" kill-server
  cpu_line="UI thread ${ui} s, ddim ${all} s, tmux server ${term} s"
}

ratios=()
walls=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    headless_run; live_run "$h_wall"
  else
    live_run "${h_wall:-1}"; headless_run
  fi
  ratios+=("$(calc "$l_run / $h_run")")
  walls+=("$(calc "$l_wall / $h_wall")")
  echo "round $r: sampling headless ${h_run} s, live ${l_run} s (ratio ${ratios[-1]}); end to end ${h_wall} s, ${l_wall} s; CPU: ${cpu_line}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}'; }
measures=()
against=()
long=$(( steps > 1000 ? steps : 1000 ))
for r in $(seq "${MEASURE_RUNS:-3}"); do
  # a headless run of the same length first: its ms a step against the blocks not drawn
  line=$("$ddim" sample "${model[@]}" --steps "$long" --batch "$batch" --seed 1 --eta 0 --out /tmp/ddim-throughput.png 2>&1 >/dev/null)
  headless_ms=$(printf '%s\n' "$line" | sed -n 's/.*  \([0-9.]*\) ms\/step$/\1/p' | tail -1)
  tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 48 \
    "env TERM=xterm-256color COLORTERM=truecolor $ddim ${model[*]} --steps $long --batch $batch --seed 1 --eta 0 --measure-ui 25"
  sleep "$(calc "0.9 * $long * $headless_ms / 1000")"
  until screen=$(tmux -L "$sock" capture-pane -p -t 0 2>/dev/null) && grep -q "measure-ui: " <<<"$screen"; do sleep 0.2; done
  tmux -L "$sock" kill-server
  line=$(grep -o "measure-ui: .*×[0-9.]*" <<<"$screen")
  quiet_ms=$(sed -n 's/.*not drawn \([0-9.]*\) ms\/step.*/\1/p' <<<"$line")
  measures+=("${line##*×}")
  against+=("$(calc "$quiet_ms / $headless_ms")")
  echo "measure-ui run $r ($long steps): $line; headless just before: $headless_ms ms/step"
done
echo "steps $steps, batch $batch, $rounds rounds: live / headless sampling time" \
  "$(median "${ratios[@]}" | awk '{printf "%.3f", $1}') (median of the rounds' ratios, range $(range "${ratios[@]}"));" \
  "end to end $(median "${walls[@]}" | awk '{printf "%.3f", $1}') ($(range "${walls[@]}"))"
[ ${#measures[@]} -gt 0 ] && echo "measure-ui, drawn / not drawn: $(median "${measures[@]}" | awk '{printf "%.3f", $1}')" \
  "(median of ${#measures[@]} runs of $long steps, range $(range "${measures[@]}"));" \
  "not drawn / headless run just before: $(median "${against[@]}" | awk '{printf "%.3f", $1}') ($(range "${against[@]}"))"
