#include "build_info.h"

// build_commit.h is written by `make` (target build-info) before every `swift build` and is
// git-ignored, so the commit comes from the build, not from running git when ddim runs; a plain
// `swift build` from a fresh clone has no such file and says "unknown". The Makefile touches
// this file when it writes the header: a header that appears was in no dependency list yet.
#if __has_include("build_commit.h")
#include "build_commit.h"
#endif
#ifndef DDIM_COMMIT
#define DDIM_COMMIT "unknown"
#endif

const char *ddim_version(void) { return DDIM_VERSION; }

const char *ddim_build_commit(void) { return DDIM_COMMIT; }
