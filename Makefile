# ddim — two commands do everything on a fresh Debian machine:
#   make run    install what is missing, build, open the live sampler on the embedded model
#   make test   the same, then every test (unit, golden, command line, terminal)

SWIFT      ?= swift
BUILD_FLAGS = -c release
BIN         = .build/release/ddim
# System packages: OpenBLAS (cblas), ncursesw, libpng + zlib, pkg-config for SwiftPM,
# tmux and ncurses-term (xterm-direct, tmux-direct) for the terminal tests.
APT_PACKAGES = pkg-config libopenblas-dev libncursesw5-dev libpng-dev zlib1g-dev tmux ncurses-term
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all run test deps build unit-tests clean

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --product ddim

run: build
	$(BIN) $(ARGS)

# Release mode: the numerical tests run real forward passes. Swift Testing only (no XCTest).
# Tests use public API only, so without testable imports the modules built above are reused.
test: build
	$(SWIFT) test $(BUILD_FLAGS) --disable-xctest --disable-testable-imports

clean:
	rm -rf .build
