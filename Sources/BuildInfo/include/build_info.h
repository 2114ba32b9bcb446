#ifndef DDIM_BUILD_INFO_H
#define DDIM_BUILD_INFO_H

/// ddim's version: the one place it is written (the Makefile reads it for `make deb`).
#define DDIM_VERSION "0.11.0"

/// The version, e.g. "0.11.0".
const char *ddim_version(void);

/// The commit this binary was built from, as the Makefile found it before `swift build`
/// (`249a050c1f2e`, with `-modified` when tracked files differed from it), or "unknown" for a
/// build that did not go through the Makefile (a plain `swift build`, a tree without git).
const char *ddim_build_commit(void);

#endif
