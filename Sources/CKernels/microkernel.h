// The 6 × 16 register-blocked GEMM kernel of winograd.c, shared with attention.c (private).
#ifndef DDIM_MICROKERNEL_H
#define DDIM_MICROKERNEL_H

#include <stddef.h>

/// C (6 × 16, row stride ldc) = A (kc × 6, packed: a[p·6 + r]) · B (kc × 16, packed: b[p·16 + l]).
typedef void (*micro_kernel)(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc);

/// The kernel for this CPU: AVX2 + FMA where it has them (unless DDIM_GENERIC_KERNEL=1), else
/// portable C. Picked once.
micro_kernel ddim_micro_kernel(void);
/// The portable C kernel, whatever the CPU (tests).
micro_kernel ddim_micro_kernel_portable(void);

#endif
