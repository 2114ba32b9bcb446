#!/usr/bin/env bash
# A self-contained copy of the built ddim for a machine without Swift (e.g. a lent GPU machine,
# to time the CPU side there): the binary and its resources, every shared library it and tmux
# load except glibc's own, tmux, and the terminfo entries the live sampler's tests use.
#
#   scripts/portable_bundle.sh OUT.tar.xz        (after `make build`)
#
# On the other machine:
#   mkdir -p /tmp/b && tar xJf OUT.tar.xz -C /tmp/b
#   export LD_LIBRARY_PATH=/tmp/b/lib TERMINFO_DIRS=/tmp/b/terminfo PATH=/tmp/b/bin:$PATH
#   DDIM=/tmp/b/bin/ddim taskset -c 2,3 scripts/tui_throughput.sh 200 4 5
#   taskset -c 2,3 python3 scripts/bench_table.py --ddim /tmp/b/bin/ddim --cifar /tmp/bench/cifar10-32
# (x86-64 with a glibc at least as new as this one's; bench_table.py needs torch, diffusers and
# onnxruntime there.)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 OUT.tar.xz" >&2; exit 64; }
out=$(realpath -m "$1")
bin=.build/release/ddim
[ -x "$bin" ] || { echo "$bin: not built (make build)" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/terminfo"
cp -r "$bin" .build/release/*.resources "$stage/bin/"
tmux=$(command -v tmux || true)
[ -n "$tmux" ] && cp "$tmux" "$stage/bin/"
# every library but the C runtime's, which the other machine has (and must match its loader)
ldd "$bin" ${tmux:+"$tmux"} | awk '$3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|libresolv.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libstdc++.so.*|libgcc_s.so.*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
for entry in x/xterm x/xterm-256color x/xterm-direct t/tmux t/tmux-256color t/tmux-direct s/screen s/screen-256color; do
  for dir in /usr/share/terminfo /lib/terminfo; do
    if [ -f "$dir/$entry" ]; then mkdir -p "$stage/terminfo/$(dirname "$entry")"; cp -L "$dir/$entry" "$stage/terminfo/$entry"; break; fi
  done
done
tar -C "$stage" -cf - . | xz -T0 -6 > "$out"
echo "$out: $(du -h "$out" | cut -f1)"
