// Which implementation of ddim's own kernels runs: AVX-512, AVX2 + FMA or portable C, from
// CPUID and the OS's saved register state, read once; DDIM_KERNELS (or DDIM_GENERIC_KERNEL, the
// older switch) asks for a lower one, for tests and A/B runs.

#include "ckernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>

// XCR0, the state components the OS saves on a context switch (XGETBV with ECX = 0).
static unsigned long long xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

// AVX2 + FMA, and the OS saving YMM state (XCR0 bits 1 and 2: SSE and AVX).
static int cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1;
    if (!fma || !osxsave || (xcr0() & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;  // AVX2
}

// AVX-512 F, DQ, BW and VL (leaf 7, EBX bits 16, 17, 30, 31), and the OS saving the opmask
// registers and all 32 ZMM registers' full width (XCR0 bits 5, 6 and 7) besides YMM state.
static int cpu_has_avx512(void) {
    if (!cpu_has_avx2()) return 0;
    if ((xcr0() & 0xE6) != 0xE6) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned want = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    return (b & want) == want;
}
#else
static int cpu_has_avx2(void) { return 0; }
static int cpu_has_avx512(void) { return 0; }
#endif

static int best_supported;  // the best path of this CPU
static int chosen;          // the path forwards use
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void pick(void) {
    best_supported = cpu_has_avx512() ? DDIM_KERNELS_AVX512 : cpu_has_avx2() ? DDIM_KERNELS_AVX2 : DDIM_KERNELS_PORTABLE;
    int wanted = best_supported;
    if (getenv("DDIM_GENERIC_KERNEL") != NULL) wanted = DDIM_KERNELS_PORTABLE;
    const char *name = getenv("DDIM_KERNELS");
    if (name != NULL) {
        for (int path = DDIM_KERNELS_PORTABLE; path <= DDIM_KERNELS_AVX512; path++)
            if (strcmp(name, ddim_kernel_path_name(path)) == 0) wanted = path;
    }
    chosen = wanted < best_supported ? wanted : best_supported;
}

int ddim_kernel_path_supported(int path) {
    pthread_once(&once, pick);
    return path >= DDIM_KERNELS_PORTABLE && path <= best_supported;
}

int ddim_kernel_path(void) {
    pthread_once(&once, pick);
    return chosen;
}

const char *ddim_kernel_path_name(int path) {
    switch (path) {
    case DDIM_KERNELS_AVX512: return "avx512";
    case DDIM_KERNELS_AVX2: return "avx2";
    default: return "portable";
    }
}
