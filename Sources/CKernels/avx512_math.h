// The exponential in ZMM registers, shared by microkernel_avx512.c (softmax) and
// winograd_transforms_avx512.c (SiLU) (private; include only under DDIM_HAVE_AVX512).
#ifndef DDIM_AVX512_MATH_H
#define DDIM_AVX512_MATH_H

#include "microkernel.h"

#include <immintrin.h>

// e^x of 16 lanes: exp_approx of kernels.c (Cephes' expf: n = round(x / ln 2), r = x − n·ln 2
// in two parts, e^r by a degree-5 polynomial), 2^n applied by VSCALEFPS.
DDIM_TARGET_AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    // n = round(x · log2 e)
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x − n·ln 2, ln 2 in two parts
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    // e^r = p·r² + r + 1, then · 2^n
    const __m512 er = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(er, n);
}

#endif
