# ddim — two commands do everything on a fresh Debian machine:
#   make run    install what is missing, build, open the live sampler on the embedded model
#   make test   the same, then every test (unit, golden, command line, terminal, install and .deb)
# and three install it (docs/install.md):
#   make install [PREFIX=/usr/local] [DESTDIR=…]   make uninstall   make deb

SWIFT      ?= swift
BUILD_FLAGS = -c release
BIN         = .build/release/ddim
# System packages: OpenBLAS (cblas), ncursesw, libpng + zlib, libsixel (pixel previews), pkg-config for SwiftPM,
# tmux and ncurses-term (xterm-direct, tmux-direct) for the terminal tests.
APT_PACKAGES = pkg-config libopenblas-dev libncursesw5-dev libpng-dev zlib1g-dev libsixel-dev libcurl4-openssl-dev tmux ncurses-term
# For `make slurm-test` (part of `make test`): a one-node Slurm cluster started by the test itself.
SLURM_PACKAGES = slurmctld slurmd slurm-client munge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The version is written once, in Sources/BuildInfo/include/build_info.h.
VERSION := $(shell sed -n 's/^\#define DDIM_VERSION "\(.*\)"$$/\1/p' Sources/BuildInfo/include/build_info.h)

# Installing: the real binary lives in $(PREFIX)/lib/ddim/ beside its resource bundles (the
# embedded model, the themes), which it finds next to itself through /proc/self/exe; bin/ddim is
# a relative symbolic link to it, so a moved or copied tree keeps working.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib/ddim
MANDIR   = $(PREFIX)/share/man/man1
BASHDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# The installed binary: Swift's runtime linked in (-static-stdlib), no $ORIGIN run path, built in
# its own folder so that it and the test build do not rebuild each other.
# FoundationNetworking (the hub downloads, over URLSession) linked in statically needs the
# system's libcurl at link time (libcurl4-openssl-dev; the package depends on libcurl4).
STATIC_FLAGS = -c release --static-swift-stdlib --disable-local-rpath --scratch-path .build-static -Xlinker -lcurl
STATIC_BIN   = .build-static/release/ddim
STAGE        = .build-static/stage
RESOURCES    = ddim_DefaultModel.resources ddim_Themes.resources

.PHONY: all run test deps slurm-deps install-missing slurm-test build build-info static install uninstall deb package-test unit-tests clean fuzz

all: build

deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(APT_PACKAGES)"

slurm-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(SLURM_PACKAGES)"

install-missing:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The commit `ddim --version` names, from the build: written into a git-ignored header before each
# build (rewritten only when it changes; build_info.c touched so a new header is seen). "unknown"
# without git; "-modified" when tracked files differ from the commit.
build-info:
	@commit=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	if [ "$$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="$$commit-modified"; fi; \
	line="#define DDIM_COMMIT \"$$commit\""; \
	if [ "$$(cat Sources/BuildInfo/build_commit.h 2>/dev/null)" != "$$line" ]; then \
	  echo "$$line" > Sources/BuildInfo/build_commit.h; touch Sources/BuildInfo/build_info.c; fi

build: deps build-info
	$(SWIFT) build $(BUILD_FLAGS) --product ddim

run: build
	$(BIN) $(ARGS)

# Release mode: the numerical tests run real forward passes. Swift Testing only (no XCTest).
# Tests use public API only, so without testable imports the modules built above are reused.
test: build
	$(SWIFT) test $(BUILD_FLAGS) --disable-xctest --disable-testable-imports
	$(MAKE) package-test
	$(MAKE) slurm-test

# A 4-task Slurm array sweep on a one-node cluster this test starts and stops (root or sudo;
# scripts/slurm/test_slurm.sh), byte-compared with an unsharded run.
slurm-test: build slurm-deps
	scripts/slurm/test_slurm.sh $(BIN)

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every parser of outside files, each
# for FUZZ_SECONDS; crashes land in .build-fuzz/crashes/TARGET/ (copy them to
# Tests/Fuzz/regressions/TARGET/ once fixed). One -sanitize=fuzzer,address flag: swiftc keeps
# only the last -sanitize option, so SwiftPM's two --sanitize flags would drop the coverage.
# detect_leaks=0: Foundation's Data(contentsOf:) leaks 4 KB on an empty file (not ours).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors latent json config scheduler png theme pickle
fuzz: deps
	$(SWIFT) build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address \
	  -Xswiftc -DDDIM_FUZZ --product ddim-fuzz --scratch-path .build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t .build-fuzz/crashes/$$t; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=0 DDIM_FUZZ_TARGET=$$t .build-fuzz/release/ddim-fuzz \
	    .build-fuzz/corpus/$$t Tests/Fuzz/corpus/$$t -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=.build-fuzz/crashes/$$t/ -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    > .build-fuzz/$$t.log 2>&1; rc=$$?; \
	  grep -E "DONE|stat::number_of_executed_units" .build-fuzz/$$t.log; \
	  if [ $$rc != 0 ]; then tail -40 .build-fuzz/$$t.log; exit 1; fi; \
	done

# The binary to install, its man page (from its own --help: scripts/manpage.sh) and completions.
static: deps build-info
	$(SWIFT) build $(STATIC_FLAGS) --product ddim
	rm -rf $(STAGE) && mkdir -p $(STAGE)
	scripts/manpage.sh $(STATIC_BIN) $(VERSION) "$$(git log -1 --format=%cs 2>/dev/null || date +%F)" > $(STAGE)/ddim.1
	for sh in bash zsh fish; do $(STATIC_BIN) --generate-completion-script $$sh > $(STAGE)/ddim.$$sh; done
	sed -i '1{/^#!/d}' $(STAGE)/ddim.bash   # sourced by bash-completion, not run

install: static
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHDIR) $(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR)
	install -m 755 -s $(STATIC_BIN) $(DESTDIR)$(LIBDIR)/ddim
	for r in $(RESOURCES); do \
	  rm -rf $(DESTDIR)$(LIBDIR)/$$r && cp -R .build-static/release/$$r $(DESTDIR)$(LIBDIR)/ && \
	  chmod -R u=rwX,go=rX $(DESTDIR)$(LIBDIR)/$$r || exit 1; done
	ln -sfn ../lib/ddim/ddim $(DESTDIR)$(BINDIR)/ddim
	install -m 644 $(STAGE)/ddim.1 $(DESTDIR)$(MANDIR)/ddim.1
	install -m 644 $(STAGE)/ddim.bash $(DESTDIR)$(BASHDIR)/ddim
	install -m 644 $(STAGE)/ddim.zsh $(DESTDIR)$(ZSHDIR)/_ddim
	install -m 644 $(STAGE)/ddim.fish $(DESTDIR)$(FISHDIR)/ddim.fish

# Removes exactly what install wrote (the folders it shares with other programs stay).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ddim $(DESTDIR)$(MANDIR)/ddim.1 $(DESTDIR)$(BASHDIR)/ddim \
	  $(DESTDIR)$(ZSHDIR)/_ddim $(DESTDIR)$(FISHDIR)/ddim.fish
	rm -rf $(DESTDIR)$(LIBDIR)

# dist/ddim_VERSION_ARCH.deb, with dpkg-deb alone (scripts/make_deb.sh).
DEBROOT = .build-static/deb
deb: static
	rm -rf $(DEBROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr ZSHDIR=/usr/share/zsh/vendor-completions
	scripts/make_deb.sh $(VERSION) $(DEBROOT)

# Install into a temporary PREFIX and run from elsewhere (also moved), uninstall; then, as root,
# the .deb's round trip through dpkg (scripts/package_test.sh). `make test` runs it.
package-test: static
	scripts/package_test.sh $(VERSION)

clean:
	rm -rf .build .build-fuzz .build-static dist
