// The Winograd GEMM in bfloat16 (opt-in, `--precision bf16`): M_k = U_k · V_k with both operands
// rounded to bf16 (8 significant bits, float's exponent) and every product summed in float, by
// AVX-512 BF16's VDPBF16PS — per float lane, acc += a₀·b₀ + a₁·b₁ over a pair of bf16 — which
// does twice the multiply-adds of a float FMA per instruction (measured on a Zen 5 EPYC:
// scripts/roofline.c, 471 against 246 GFLOP/s a thread).
//
// Operands in pairs of input channels: U's blocks of 6 output channels as
// u[((q·6) + r)·2 + s] = U[6b + r][2q + s] (a 32-bit pair per row, broadcast by the kernel), and
// each panel of V (kc × 16 floats, as the transforms write it) converted per call into
// v[(q·16 + l)·2 + s] = V[2q + s][l], one ZMM register a pair of rows. Channels past kc are 0.

#include "ckernels.h"
#include "microkernel.h"
#include "winograd.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// MR, NR: winograd.h's (blocks of 6 rows, panels of 16)

// float → bf16, rounded to nearest, ties to even (a NaN stays a NaN)
static uint16_t bf16_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

ptrdiff_t ddim_bf16_pairs(ptrdiff_t kc) { return (kc + 1) / 2; }

// `blocks` blocks of 6 rows packed as a[p·6 + r] (kc = k) → the same in bf16 pairs.
static void pairs_from_packed(const float *packed, ptrdiff_t blocks, ptrdiff_t k, uint16_t *dst) {
    const ptrdiff_t pairs = ddim_bf16_pairs(k);
    for (ptrdiff_t kb = 0; kb < blocks; kb++) {
        const float *a = packed + kb * k * MR;
        uint16_t *d = dst + kb * pairs * MR * 2;
        for (ptrdiff_t q = 0; q < pairs; q++)
            for (ptrdiff_t r = 0; r < MR; r++)
                for (ptrdiff_t s = 0; s < 2; s++) {
                    const ptrdiff_t c = 2 * q + s;
                    d[(q * MR + r) * 2 + s] = c < k ? bf16_of(a[c * MR + r]) : 0;
                }
    }
}

// The inverse: floats holding the bf16 values exactly (a bf16 is the top half of its float).
static void packed_from_pairs(const uint16_t *src, ptrdiff_t blocks, ptrdiff_t k, float *packed) {
    const ptrdiff_t pairs = ddim_bf16_pairs(k);
    for (ptrdiff_t kb = 0; kb < blocks; kb++) {
        const uint16_t *d = src + kb * pairs * MR * 2;
        float *a = packed + kb * k * MR;
        for (ptrdiff_t c = 0; c < k; c++)
            for (ptrdiff_t r = 0; r < MR; r++) {
                const uint32_t u = (uint32_t)d[((c / 2) * MR + r) * 2 + c % 2] << 16;
                memcpy(&a[c * MR + r], &u, sizeof u);
            }
    }
}

ptrdiff_t ddim_gemm_bf16_count(ptrdiff_t m, ptrdiff_t k) { return (m + MR - 1) / MR * ddim_bf16_pairs(k) * MR; }

void ddim_gemm_bf16_from_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, float *out) {
    pairs_from_packed(packed, (m + MR - 1) / MR, k, (uint16_t *)out);
}

void ddim_gemm_bf16_to_packed(const float *bf16, ptrdiff_t m, ptrdiff_t k, float *packed) {
    packed_from_pairs((const uint16_t *)bf16, (m + MR - 1) / MR, k, packed);
}

// A convolution's planes are `planes` such matrices (cout × cin) one after the other.
ptrdiff_t ddim_winograd_bf16_count(int tile, ptrdiff_t cout, ptrdiff_t cin) {
    return wg_variant_of(tile)->planes * ddim_gemm_bf16_count(cout, cin);
}

void ddim_winograd_bf16_from_packed(const float *packed, int tile, ptrdiff_t cout, ptrdiff_t cin, float *out) {
    pairs_from_packed(packed, wg_variant_of(tile)->planes * ((cout + MR - 1) / MR), cin, (uint16_t *)out);
}

void ddim_winograd_bf16_to_packed(const float *bf16, int tile, ptrdiff_t cout, ptrdiff_t cin, float *packed) {
    packed_from_pairs((const uint16_t *)bf16, wg_variant_of(tile)->planes * ((cout + MR - 1) / MR), cin, packed);
}

#if DDIM_HAVE_AVX512
#include <cpuid.h>
#include <immintrin.h>

#define BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma")))

static int bf16_here;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static void bf16_check(void) {
    // the AVX-512 path, on this CPU and not lowered by DDIM_KERNELS
    if (ddim_kernel_path() < DDIM_KERNELS_AVX512) return;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return;
    bf16_here = (a >> 5) & 1;  // AVX512_BF16
}

// read once: CPUID traps to the hypervisor in a VM (~0.7 % of a bf16 forward when asked per convolution)
int ddim_bf16_supported(void) {
    pthread_once(&bf16_once, bf16_check);
    return bf16_here;
}

// C (6·NB × 16) = U (NB blocks, pairs) · V (pairs × 16): acc[row] += pair(U[row]) · pair row of V.
BF16 static inline __attribute__((always_inline)) void rows_nb_bf16(int nb, ptrdiff_t pairs, const uint16_t *a,
                                                                   ptrdiff_t lda, const uint16_t *b, float *c,
                                                                   ptrdiff_t ldc) {
    __m512 acc[24];
    for (int i = 0; i < 6 * nb; i++) acc[i] = _mm512_setzero_ps();
    for (ptrdiff_t q = 0; q < pairs; q++) {
        const __m512bh v = (__m512bh)_mm512_loadu_si512(b + q * 32);
        for (int i = 0; i < nb; i++)
            for (int r = 0; r < 6; r++) {
                int32_t pair;
                memcpy(&pair, a + i * lda + (q * 6 + r) * 2, sizeof pair);
                acc[6 * i + r] = _mm512_dpbf16_ps(acc[6 * i + r], (__m512bh)_mm512_set1_epi32(pair), v);
            }
    }
    for (int i = 0; i < 6 * nb; i++) _mm512_storeu_ps(c + i * ldc, acc[i]);
}

BF16 static void rows4(ptrdiff_t q, const uint16_t *a, ptrdiff_t lda, const uint16_t *b, float *c, ptrdiff_t ldc) {
    rows_nb_bf16(4, q, a, lda, b, c, ldc);
}
BF16 static void rows3(ptrdiff_t q, const uint16_t *a, ptrdiff_t lda, const uint16_t *b, float *c, ptrdiff_t ldc) {
    rows_nb_bf16(3, q, a, lda, b, c, ldc);
}
BF16 static void rows2(ptrdiff_t q, const uint16_t *a, ptrdiff_t lda, const uint16_t *b, float *c, ptrdiff_t ldc) {
    rows_nb_bf16(2, q, a, lda, b, c, ldc);
}
BF16 static void rows1(ptrdiff_t q, const uint16_t *a, ptrdiff_t lda, const uint16_t *b, float *c, ptrdiff_t ldc) {
    rows_nb_bf16(1, q, a, lda, b, c, ldc);
}

// The panel V (kc × 16 floats) as pairs of rows: v[(q·16 + l)·2 + s] = V[2q + s][l], rounded to
// nearest even by VCVTNE2PS2BF16, interleaved by VPERMW.
BF16 static void convert_panel(ptrdiff_t kc, const float *b, uint16_t *v) {
    // element 2l of the result from lane l of the even row, 2l + 1 from lane l of the odd one:
    // cvtne2ps gives [odd row's 16 | even row's 16] as words 16…31 | 0…15
    static const uint16_t order[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i idx = _mm512_loadu_si512(order);
    ptrdiff_t p = 0;
    for (; p + 2 <= kc; p += 2) {
        const __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(b + (p + 1) * NR), _mm512_loadu_ps(b + p * NR));
        _mm512_storeu_si512(v + p * NR, _mm512_permutexvar_epi16(idx, (__m512i)both));
    }
    if (p < kc) {
        const __m512bh both = _mm512_cvtne2ps_pbh(_mm512_setzero_ps(), _mm512_loadu_ps(b + p * NR));
        _mm512_storeu_si512(v + p * NR, _mm512_permutexvar_epi16(idx, (__m512i)both));
    }
}

// The kernel with micro_kernel's signature: `a` is U in pairs (lda in floats' worth, 6·⌈kc/2⌉ a
// block), `b` a float panel, converted into this thread's buffer first — once for all blocks.
typedef struct {
    uint16_t *v;
    ptrdiff_t pairs;
} panel_buffer;
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static void buffer_release(void *p) {
    panel_buffer *t = p;
    free_aligned((float *)t->v);
    free(t);
}
static void buffer_key_init(void) { pthread_key_create(&buffer_key, buffer_release); }

// This thread's buffer for a converted panel of `pairs` pairs (kept for its next call, freed
// when the thread ends).
static uint16_t *panel_of(ptrdiff_t pairs) {
    pthread_once(&buffer_once, buffer_key_init);
    panel_buffer *t = pthread_getspecific(buffer_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) abort();
        pthread_setspecific(buffer_key, t);
    }
    if (t->pairs < pairs) {
        free_aligned((float *)t->v);
        t->v = (uint16_t *)alloc_aligned((size_t)(pairs * NR));  // 32 bf16 = 16 floats a pair
        if (!t->v) abort();
        t->pairs = pairs;
    }
    return t->v;
}

BF16 void ddim_kernel_bf16(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                           ptrdiff_t ldc) {
    const ptrdiff_t pairs = ddim_bf16_pairs(kc);
    uint16_t *buffer = panel_of(pairs);
    convert_panel(kc, b, buffer);
    const uint16_t *u = (const uint16_t *)a;
    const ptrdiff_t ld = lda * 2;  // in bf16
    while (blocks > 0) {
        const ptrdiff_t n = blocks == 5 ? 3 : blocks < 4 ? blocks : 4;
        switch (n) {
        case 4: rows4(pairs, u, ld, buffer, c, ldc); break;
        case 3: rows3(pairs, u, ld, buffer, c, ldc); break;
        case 2: rows2(pairs, u, ld, buffer, c, ldc); break;
        default: rows1(pairs, u, ld, buffer, c, ldc); break;
        }
        u += n * ld;
        c += 6 * n * ldc;
        blocks -= n;
    }
}
#else
int ddim_bf16_supported(void) { return 0; }
#endif
