#!/usr/bin/env bash
# `make package-test` (and `make test`): ddim installed as people install tools.
#  1. make install into a temporary PREFIX; run from another folder; the tree moved elsewhere and
#     run again; make install with DESTDIR staging; make uninstall leaves nothing.
#  2. As root: make deb, dpkg -i, ddim from another folder, dpkg --purge, nothing left behind.
# Usage: scripts/package_test.sh VERSION (after `make static`).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$1
repo=$PWD
started=$(date +%s)
work=$(mktemp -d /tmp/ddim-package-test.XXXXXX)
installed_deb=""
cleanup() {
  if [ -n "$installed_deb" ]; then dpkg --purge ddim >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
say() { echo "package-test: $*"; }

commit=$(sed -n 's/^#define DDIM_COMMIT "\(.*\)"$/\1/p' Sources/BuildInfo/build_commit.h 2>/dev/null || true)
[ -n "$commit" ] || fail "Sources/BuildInfo/build_commit.h names no commit (make build-info writes it)"
if head=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  case $commit in "$head"|"$head-modified") ;; *) fail "the build names commit $commit, HEAD is $head" ;; esac
fi

# ddim from $1 (a bin/ddim), run in a fresh folder: --version, --help, a sample PNG
check_runs() {
  local bin=$1 where
  where=$(mktemp -d "$work/elsewhere.XXXXXX")
  # (outputs captured first: with pipefail, grep -q closing a pipe early would fail the writer)
  local out
  out=$(cd "$where" && "$bin" --version)
  [ "$out" = "ddim $version (commit $commit)" ] || fail "$bin --version: '$out', expected 'ddim $version (commit $commit)'"
  out=$(cd "$where" && "$bin" --help)
  grep -q "^  sample " <<<"$out" || fail "$bin --help lists no sample command"
  (cd "$where" && HOME=$where XDG_CONFIG_HOME=$where/config "$bin" sample --steps 3 --batch 2 --seed 1 --out grid.png -q) \
    || fail "$bin sample failed in $where"
  [ "$(head -c 8 "$where/grid.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "$bin sample wrote no PNG"
  # the themes are found beside the binary: the live sampler in a private tmux, if there is tmux
  if command -v tmux >/dev/null; then
    local sock="ddim-pkg-$$"
    tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 \
      "cd '$where' && env HOME='$where' XDG_CONFIG_HOME='$where/config' TERM=xterm-256color LANG=C.UTF-8 '$bin' --theme paper --paused --steps 5; sleep 30"
    local screen="" i
    for i in $(seq 100); do
      screen=$(tmux -L "$sock" capture-pane -p -t 0 2>/dev/null || true)
      case $screen in *"theme paper"*) break ;; esac
      sleep 0.1
    done
    tmux -L "$sock" kill-server 2>/dev/null || true
    case $screen in *"theme paper"*) ;; *) fail "$bin --theme paper: the live sampler did not show the theme:"$'\n'"$screen" ;; esac
    case $screen in *"no such theme"*|*"cannot read"*) fail "$bin: a theme was not found:"$'\n'"$screen" ;; esac
  fi
}

# --- 1. make install / uninstall ------------------------------------------------------------
prefix=$work/prefix
make --no-print-directory install PREFIX="$prefix" >/dev/null
files="bin/ddim lib/ddim/ddim lib/ddim/ddim_DefaultModel.resources/digits/config.json lib/ddim/ddim_Themes.resources/paper.theme
  share/man/man1/ddim.1 share/bash-completion/completions/ddim share/zsh/site-functions/_ddim share/fish/vendor_completions.d/ddim.fish"
for f in $files; do [ -e "$prefix/$f" ] || fail "make install wrote no $f"; done
[ "$(readlink "$prefix/bin/ddim")" = ../lib/ddim/ddim ] || fail "bin/ddim is not a relative link to ../lib/ddim/ddim"
if command -v readelf >/dev/null && grep -q "libswiftCore\|RUNPATH\|RPATH" <<<"$(readelf -d "$prefix/lib/ddim/ddim")"; then
  fail "the installed binary needs libswiftCore.so or has a run path (not --static-swift-stdlib --disable-local-rpath)"
fi
check_runs "$prefix/bin/ddim"
say "make install PREFIX=… runs from another folder"

# the man page renders (groff warnings are failures); the completions load
if command -v man >/dev/null; then
  out=$(MANWIDTH=80 man --warnings -l "$prefix/share/man/man1/ddim.1" 2>"$work/man.err") || fail "man -l failed: $(cat "$work/man.err")"
  [ ! -s "$work/man.err" ] || fail "man -l warns: $(cat "$work/man.err")"
  grep -q "ddim sample" <<<"$out" || fail "the man page has no ddim sample section"
  grep -q "η" <<<"$out" || fail "the man page lost its η"
fi
bash -c "source '$prefix/share/bash-completion/completions/ddim' && complete -p ddim" >/dev/null || fail "the bash completion defines none for ddim"
if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/site-functions/_ddim" || fail "_ddim is not valid zsh"; fi
if command -v fish >/dev/null; then fish -n "$prefix/share/fish/vendor_completions.d/ddim.fish" || fail "ddim.fish is not valid fish"; fi
grep -q "sample" "$prefix/share/zsh/site-functions/_ddim" "$prefix/share/fish/vendor_completions.d/ddim.fish" || fail "a completion names no sample"

# relocated: the whole tree moved, and called through a link from elsewhere
mv "$prefix" "$work/moved"
mkdir "$work/links" && ln -s "$work/moved/bin/ddim" "$work/links/ddim"
check_runs "$work/moved/bin/ddim"
check_runs "$work/links/ddim"
say "the installed tree moved elsewhere still runs (directly and through a link)"
make --no-print-directory uninstall PREFIX="$work/moved" >/dev/null
left=$(find "$work/moved" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"

# staged with DESTDIR: everything under DESTDIR/PREFIX, nothing elsewhere; uninstall the same way
make --no-print-directory install DESTDIR="$work/stage" PREFIX=/opt/ddim-staged >/dev/null
outside=$(cd "$work/stage" && find . ! -type d ! -path "./opt/ddim-staged/*")
[ -z "$outside" ] || fail "make install DESTDIR wrote outside PREFIX: $outside"
[ -e /opt/ddim-staged ] && fail "make install DESTDIR wrote into /opt/ddim-staged itself"
make --no-print-directory uninstall DESTDIR="$work/stage" PREFIX=/opt/ddim-staged >/dev/null
left=$(find "$work/stage" ! -type d)
[ -z "$left" ] || fail "make uninstall DESTDIR=… left: $left"
say "make install/uninstall with DESTDIR stage and remove every file"

# --- 2. the .deb through dpkg ----------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
  say "SKIPPED the .deb round trip: dpkg -i needs root (CI runs make test as root)"
elif ! command -v dpkg-deb >/dev/null; then
  say "SKIPPED the .deb round trip: no dpkg-deb here"
elif dpkg -s ddim >/dev/null 2>&1; then
  say "SKIPPED the .deb round trip: a ddim package is installed on this machine already; not touching it"
else
  deb=$(make --no-print-directory -s deb | tail -1)
  [ -f "$deb" ] || fail "make deb made no package ($deb)"
  grep -q "Depends: .*libopenblas0.*libsixel1" <<<"$(dpkg-deb --info "$deb")" || fail "$deb declares no runtime dependencies"
  if command -v lintian >/dev/null; then
    lintian --no-tag-display-limit "$deb" > "$work/lintian.txt" 2>&1 || true
    if grep -q "^E: " "$work/lintian.txt"; then cat "$work/lintian.txt"; fail "lintian finds errors in $deb"; fi
    say "lintian: $(grep -c '^[WI]: ' "$work/lintian.txt" || true) warnings/notes, no errors"
  fi
  dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb failed"
  installed_deb=$deb
  list=$(dpkg -L ddim)
  [ "$(command -v ddim)" = /usr/bin/ddim ] || fail "ddim is not /usr/bin/ddim after dpkg -i (PATH: $PATH)"
  check_runs ddim
  # (a container's dpkg may be told to leave man pages out: path-exclude)
  if command -v man >/dev/null && [ -e /usr/share/man/man1/ddim.1.gz ]; then man -w ddim >/dev/null 2>&1 || fail "man finds no ddim page after dpkg -i"; fi
  dpkg --purge ddim >/dev/null || fail "dpkg --purge ddim failed"
  installed_deb=""
  for p in $list; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then
      case $p in *ddim*) fail "dpkg --purge left the folder $p" ;; esac
    elif [ -e "$p" ] || [ -L "$p" ]; then fail "dpkg --purge left $p"; fi
  done
  hash -r; ! command -v ddim >/dev/null || fail "ddim still on PATH after the purge"
  say "$deb: dpkg -i, ddim from another folder, dpkg --purge: nothing left ($(wc -l <<<"$list") paths)"
fi
say "passed in $(( $(date +%s) - started )) s"
