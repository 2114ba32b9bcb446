// DDIM_CLONES: a function compiled twice, for x86-64-v3 (AVX2 + FMA) and the baseline, picked
// at load by the CPU (target_clones); nothing where that is unavailable.
#ifndef DDIM_CLONES_H
#define DDIM_CLONES_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DDIM_NO_CLONES 1  // ifunc resolvers run before ThreadSanitizer's runtime starts: a crash at load
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__)) && !defined(DDIM_NO_CLONES)
#define DDIM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DDIM_CLONES
#endif

#endif
