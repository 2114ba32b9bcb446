// The AVX-512 GEMM kernel of the Winograd convolution and the attention core, and the attention
// softmax in ZMM registers (x86-64 only; compiled for AVX-512 function by function, run only
// where dispatch.c found AVX-512 F/BW/DQ/VL and the OS saving ZMM state).
//
// The operands keep the AVX2 kernel's layout — A in blocks of 6 rows (a[p·6 + r]), B in panels
// of 16 columns (b[p·16 + l]) — so that the weights' packing, the transforms' panels and the
// attention's K and Vᵀ are the same on every path. A panel of 16 is one ZMM register, so a row
// of C is one accumulator: the kernel takes up to 4 blocks of A at once (24 rows of C, 24
// accumulators of the 32 registers) to give the two FMA pipes (latency 4) enough independent
// chains and to load each B row once for 24 FMAs; each row of A is broadcast from memory inside
// its FMA (the {1to16} operand), one load per FMA.

#include "microkernel.h"

#if DDIM_HAVE_AVX512
#include "avx512_math.h"

#include <immintrin.h>
#include <math.h>

#define AVX512 DDIM_TARGET_AVX512

// C (6·NB × 16) = A (NB blocks of 6 rows) · B: NB is a constant where it is inlined, so the
// accumulators stay in registers and every loop below unrolls.
AVX512 static inline __attribute__((always_inline)) void rows_nb(int nb, ptrdiff_t kc, const float *a, ptrdiff_t lda,
                                                                const float *b, float *c, ptrdiff_t ldc) {
    __m512 acc[24];
    for (int i = 0; i < 6 * nb; i++) acc[i] = _mm512_setzero_ps();
    const float *ap[4] = {a, a + lda, a + 2 * lda, a + 3 * lda};
    ptrdiff_t p = 0;
    for (; p + 2 <= kc; p += 2) {
        const __m512 b0 = _mm512_loadu_ps(b + p * 16), b1 = _mm512_loadu_ps(b + p * 16 + 16);
        // acc[6·i + r] += A_i[p][r] · B[p], then the same for p + 1
        for (int i = 0; i < nb; i++)
            for (int r = 0; r < 6; r++) acc[6 * i + r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i][p * 6 + r]), b0, acc[6 * i + r]);
        for (int i = 0; i < nb; i++)
            for (int r = 0; r < 6; r++)
                acc[6 * i + r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i][p * 6 + 6 + r]), b1, acc[6 * i + r]);
    }
    if (p < kc) {
        const __m512 b0 = _mm512_loadu_ps(b + p * 16);
        for (int i = 0; i < nb; i++)
            for (int r = 0; r < 6; r++) acc[6 * i + r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i][p * 6 + r]), b0, acc[6 * i + r]);
    }
    for (int i = 0; i < 6 * nb; i++) _mm512_storeu_ps(c + i * ldc, acc[i]);
}

AVX512 static void rows4(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc) {
    rows_nb(4, kc, a, lda, b, c, ldc);
}
AVX512 static void rows3(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc) {
    rows_nb(3, kc, a, lda, b, c, ldc);
}
AVX512 static void rows2(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc) {
    rows_nb(2, kc, a, lda, b, c, ldc);
}
AVX512 static void rows1(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc) {
    rows_nb(1, kc, a, lda, b, c, ldc);
}

// Groups of 4 blocks; 5 left is 3 + 2 rather than 4 + 1 (a lone block has only 6 chains).
AVX512 void ddim_kernel_avx512(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                               ptrdiff_t ldc) {
    while (blocks > 0) {
        const ptrdiff_t n = blocks == 5 ? 3 : blocks < 4 ? blocks : 4;
        switch (n) {
        case 4: rows4(kc, a, lda, b, c, ldc); break;
        case 3: rows3(kc, a, lda, b, c, ldc); break;
        case 2: rows2(kc, a, lda, b, c, ldc); break;
        default: rows1(kc, a, lda, b, c, ldc); break;
        }
        a += n * lda;
        c += 6 * n * ldc;
        blocks -= n;
    }
}

// The 16 columns s[t·16 + l] (t < n), a lane each: max, e^(s − max) summed in float over 64 rows
// at a time and then in double (as kernels.c's version), scaled by 1 / the sum.
AVX512 void ddim_softmax_columns16_avx512(float *s, ptrdiff_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (ptrdiff_t t = 0; t < n; t++) m = _mm512_max_ps(m, _mm512_loadu_ps(s + t * 16));
    __m512d total_lo = _mm512_setzero_pd(), total_hi = _mm512_setzero_pd();
    for (ptrdiff_t t0 = 0; t0 < n; t0 += 64) {
        const ptrdiff_t t1 = t0 + 64 < n ? t0 + 64 : n;
        __m512 part = _mm512_setzero_ps();
        for (ptrdiff_t t = t0; t < t1; t++) {
            const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + t * 16), m));
            _mm512_storeu_ps(s + t * 16, e);
            part = _mm512_add_ps(part, e);
        }
        total_lo = _mm512_add_pd(total_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(part)));
        total_hi = _mm512_add_pd(total_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(part, 1)));
    }
    // 1 / total, in double, then to float
    const __m512d one = _mm512_set1_pd(1.0);
    const __m256 inv_lo = _mm512_cvtpd_ps(_mm512_div_pd(one, total_lo)), inv_hi = _mm512_cvtpd_ps(_mm512_div_pd(one, total_hi));
    const __m512 inv = _mm512_insertf32x8(_mm512_castps256_ps512(inv_lo), inv_hi, 1);
    for (ptrdiff_t t = 0; t < n; t++) _mm512_storeu_ps(s + t * 16, _mm512_mul_ps(_mm512_loadu_ps(s + t * 16), inv));
}
#endif
