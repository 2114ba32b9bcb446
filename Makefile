# ddim — two commands do everything on a fresh Debian machine:
#   make run    install what is missing, build, open the live sampler on the embedded model
#   make test   the same, then every test (unit, golden, command line, terminal)

SWIFT      ?= swift
BUILD_FLAGS = -c release
BIN         = .build/release/ddim
# System packages: OpenBLAS (cblas), ncursesw, libpng + zlib, libsixel (pixel previews), pkg-config for SwiftPM,
# tmux and ncurses-term (xterm-direct, tmux-direct) for the terminal tests.
APT_PACKAGES = pkg-config libopenblas-dev libncursesw5-dev libpng-dev zlib1g-dev libsixel-dev tmux ncurses-term
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The version is written once, in Sources/BuildInfo/include/build_info.h.
VERSION := $(shell sed -n 's/^\#define DDIM_VERSION "\(.*\)"$$/\1/p' Sources/BuildInfo/include/build_info.h)

.PHONY: all run test deps build build-info unit-tests clean fuzz

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
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

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every parser of outside files, each
# for FUZZ_SECONDS; crashes land in .build-fuzz/crashes/TARGET/ (copy them to
# Tests/Fuzz/regressions/TARGET/ once fixed). One -sanitize=fuzzer,address flag: swiftc keeps
# only the last -sanitize option, so SwiftPM's two --sanitize flags would drop the coverage.
# detect_leaks=0: Foundation's Data(contentsOf:) leaks 4 KB on an empty file (not ours).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = safetensors latent json config scheduler png theme
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

clean:
	rm -rf .build .build-fuzz
