// The 6 × 16 register-blocked GEMM kernel of winograd_gemm.c and its operands' allocation, shared
// with attention.c (private).
#ifndef DDIM_MICROKERNEL_H
#define DDIM_MICROKERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/// C (6 × 16, row stride ldc) = A (kc × 6, packed: a[p·6 + r]) · B (kc × 16, packed: b[p·16 + l]).
typedef void (*micro_kernel)(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc);

/// The kernel for this CPU: AVX2 + FMA where it has them (unless DDIM_GENERIC_KERNEL=1), else
/// portable C. Picked once.
micro_kernel ddim_micro_kernel(void);
/// The portable C kernel, whatever the CPU (tests).
micro_kernel ddim_micro_kernel_portable(void);

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
