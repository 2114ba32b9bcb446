// The register-blocked GEMM kernels (portable and AVX2 in winograd_gemm.c, AVX-512 in
// microkernel_avx512.c), the AVX-512 softmax of attention.c, and their operands' allocation,
// shared with attention.c (private).
#ifndef DDIM_MICROKERNEL_H
#define DDIM_MICROKERNEL_H

#include "ckernels.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/// C (6·blocks × 16, row stride ldc) = A · B: A in `blocks` blocks of 6 rows, block i at
/// a + i·lda packed as a[p·6 + r] (kc × 6), B packed kc × 16 (b[p·16 + l]). The portable and
/// AVX2 kernels do one block at a time (6 × 16); the AVX-512 one up to 4 (24 × 16: a ZMM
/// register a row of C, 16 tiles its lanes).
typedef void (*micro_kernel)(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                             ptrdiff_t ldc);

/// The kernel of `path` (DDIM_KERNELS_…, one the CPU supports: ddim_kernel_path_supported).
micro_kernel ddim_micro_kernel_for(int path);
/// The path a caller asked for, lowered to the best one this CPU supports.
static inline int ddim_supported_path(int path) {
    while (path > 0 && !ddim_kernel_path_supported(path)) path--;
    return path < 0 ? 0 : path;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define DDIM_HAVE_AVX512 1
#define DDIM_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
// microkernel_avx512.c
DDIM_TARGET_AVX512 void ddim_kernel_avx512(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda,
                                           const float *b, float *c, ptrdiff_t ldc);
/// ddim_softmax_columns16 with the 16 columns in one ZMM register.
DDIM_TARGET_AVX512 void ddim_softmax_columns16_avx512(float *s, ptrdiff_t n);
// bf16_gemm.c: micro_kernel's contract with A in bf16 pairs (lda in floats' worth: 6·⌈kc/2⌉ a
// block) and B a float panel, converted to bf16 pairs per call. Only where ddim_bf16_supported().
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma"))) void
ddim_kernel_bf16(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc);
#else
#define DDIM_HAVE_AVX512 0
#endif

// 64-byte aligned blocks from plain malloc (the raw pointer kept just below the aligned one):
// the kernel's 32-byte loads of V must not straddle cache lines (malloc's 16-byte alignment
// cost ~10 % of a cifar10-32 forward), and aligned_alloc's split blocks, kept in the heap by
// Memory.keepFreedBuffers, fragmented it by ~60 MB over a celebahq-256 forward.
static inline float *alloc_aligned(size_t floats) {
    unsigned char *raw = malloc(floats * sizeof(float) + 64 + sizeof(void *));
    if (!raw) return NULL;
    const uintptr_t aligned = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    ((void **)aligned)[-1] = raw;
    return (float *)aligned;
}

static inline void free_aligned(float *p) {
    if (p) free(((void **)p)[-1]);
}

#endif
