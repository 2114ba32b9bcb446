#!/usr/bin/env bash
# dist/ddim_VERSION_ARCH.deb from a staged install (`make deb` stages it: make install
# DESTDIR=ROOT PREFIX=/usr), with dpkg-deb alone: `scripts/make_deb.sh VERSION ROOT`.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$1 root=$2
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"ddim maintainers <maintainers@users.noreply.r-seed-74cb4de0.example>"}
date=$(git log -1 --format=%aD 2>/dev/null || date -R)

# Debian's places: man pages compressed, a copyright file and a changelog in /usr/share/doc/ddim
# (changelog.gz: a native package, its version has no Debian revision)
gzip -9nf "$root/usr/share/man/man1/ddim.1"
doc=$root/usr/share/doc/ddim
install -d -m 755 "$doc"
first=$(git log --reverse --format=%cd --date=format:%Y 2>/dev/null | sed -n 1p) last=$(git log -1 --format=%cd --date=format:%Y 2>/dev/null)
years=${first:-$(date +%Y)}; [ -z "$last" ] || [ "$last" = "$years" ] || years="$years-$last"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ddim
Comment: Built from the ddim source tree by \`make deb\`. The embedded digits model
 (usr/lib/ddim/ddim_DefaultModel.resources) was trained by the project itself
 (docs/model-card.md in the source). The binary links Swift's runtime and Foundation
 statically (Apache-2.0 with Runtime Library Exception; Foundation bundles ICU, Unicode license).

Files: *
Copyright: $years the ddim authors
License: none-stated
 The source tree states no license; this package is for the authors' own machines.
COPYRIGHT
chmod 644 "$doc/copyright"
printf 'ddim (%s) unstable; urgency=medium\n\n  * Built from the ddim source tree (commit %s).\n\n -- %s  %s\n' \
  "$version" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" "$maintainer" "$date" \
  | gzip -9n > "$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

install -d -m 755 "$root/DEBIAN"
# Depends: the binary's NEEDED libraries (readelf -d), as dpkg-shlibdeps names their packages on
# Debian 12; libstdc++ and libgcc-s come with Foundation's ICU, linked in statically, libcurl with
# FoundationNetworking (the hub downloads).
cat > "$root/DEBIAN/control" <<CONTROL
Package: ddim
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: libc6 (>= 2.35), libcurl4 (>= 7.16.2), libgcc-s1 (>= 3.3.1), libncursesw6 (>= 6.1), libopenblas0 | libopenblas0-pthread | libopenblas0-openmp | libopenblas0-serial, libpng16-16 (>= 1.6.2-1), libsixel1 (>= 1.10.3), libstdc++6 (>= 12), libtinfo6 (>= 6), zlib1g (>= 1:1.2.0)
Section: graphics
Priority: optional
Description: watch a diffusion model draw, live, in a terminal
 ddim runs DDIM (denoising diffusion implicit models) over a trained DDPM,
 a diffusers UNet2DModel folder, on the CPU over OpenBLAS. The live sampler
 draws every step in an ncurses terminal UI (character cells, or real pixels
 through kitty graphics, sixel or iTerm2) and lets η and the step count change
 while it runs; \`ddim sample\` writes PNGs headless. A small model of MNIST-style
 digits is embedded.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p dist
deb=dist/ddim_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
