// The GEMM of the Winograd convolution, M_k = U_k · V_k (Cout × Cin times Cin × tiles) for each
// plane k, by our own 6 × 16 register-blocked kernel instead of one OpenBLAS call a plane: U_k
// is packed once at load in blocks of 6 output channels (here, with the way back for im2col),
// and the input transform writes V_k straight into panels of 16 tiles, so neither operand is
// packed again per call (OpenBLAS's copies and its β pass were ~15 % of a cifar10-32 forward at
// batch 1). The kernels here: AVX2 + FMA, and portable C (the AVX-512 one is in
// microkernel_avx512.c); dispatch.c picks the path, and attention.c shares them.

#include "winograd.h"

#include <string.h>
#if WG_AVX2
#include <immintrin.h>
#endif

// The weights' side: U = G g Gᵀ of each 3×3 kernel (the matrices of F(2×2, 3×3) and F(4×4, 3×3)
// as in winograd_transforms_portable.c), packed for the kernel, and the way back.

// U = G g Gᵀ (4 × 4) of one 3×3 kernel w, row-major into u.
static void wg2_kernel_transform(const float *w, float *u) {
    // t = G g (4 × 3)
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = w[j];
        t[1][j] = 0.5f * (w[j] + w[3 + j] + w[6 + j]);
        t[2][j] = 0.5f * (w[j] - w[3 + j] + w[6 + j]);
        t[3][j] = w[6 + j];
    }
    // U = t Gᵀ (4 × 4)
    for (int a = 0; a < 4; a++) {
        u[4 * a + 0] = t[a][0];
        u[4 * a + 1] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        u[4 * a + 2] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
        u[4 * a + 3] = t[a][2];
    }
}

// U = G g Gᵀ (6 × 6) of one 3×3 kernel w, row-major into u.
static void wg4_kernel_transform(const float *w, float *u) {
    static const float G[6][3] = {{0.25f, 0, 0},
                                  {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                  {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                  {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                  {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                  {0, 0, 1}};
    // t = G g (6 × 3), then U = t Gᵀ (6 × 6)
    float t[6][3];
    for (int a = 0; a < 6; a++)
        for (int j = 0; j < 3; j++) t[a][j] = G[a][0] * w[j] + G[a][1] * w[3 + j] + G[a][2] * w[6 + j];
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) u[6 * a + b] = t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2];
}

ptrdiff_t ddim_winograd_packed_count(int tile, ptrdiff_t cout, ptrdiff_t cin) {
    return wg_variant_of(tile)->planes * wg_round_up(cout, MR) * cin;
}

typedef struct {
    const float *g;
    float *packed;
    ptrdiff_t cout, cin, blocks;
} pack_job;

// One block of 6 output channels: each kernel transformed, its planes scattered to
// packed[((k·blocks + block)·cin + c)·6 + r], zeros for rows past cout. Inlined into each
// algorithm's own pack_block (the table's), with its transform called directly.
static inline __attribute__((always_inline)) void pack_planes(const pack_job *j, ptrdiff_t ib, ptrdiff_t planes,
                                                              void (*transform)(const float *, float *)) {
    float u[36];
    for (ptrdiff_t c = 0; c < j->cin; c++)
        for (ptrdiff_t r = 0; r < MR; r++) {
            const ptrdiff_t o = ib * MR + r;
            if (o < j->cout) {
                transform(j->g + (o * j->cin + c) * 9, u);
            } else {
                memset(u, 0, sizeof u);
            }
            for (ptrdiff_t k = 0; k < planes; k++) j->packed[((k * j->blocks + ib) * j->cin + c) * MR + r] = u[k];
        }
}

void wg2_pack_block(void *job, ptrdiff_t block) { pack_planes(job, block, 16, wg2_kernel_transform); }
void wg4_pack_block(void *job, ptrdiff_t block) { pack_planes(job, block, 36, wg4_kernel_transform); }

void ddim_winograd_pack_weights(const float *g, int tile, ptrdiff_t cout, ptrdiff_t cin, float *packed) {
    pack_job j = {g, packed, cout, cin, wg_round_up(cout, MR) / MR};
    ddim_parallel_for(j.blocks, wg_variant_of(tile)->pack_block, &j);
}

// The way back, g = G⁺ U G⁺ᵀ with a left inverse G⁺ of G (G⁺ G = I₃) made of G's own rows:
// F(2×2): rows 0 and 3 of G are e₀ and e₂, row 1 − row 2 = e₁;
// F(4×4): 4 · row 0 = e₀, 3 · (row 2 − row 1) = e₁, row 5 = e₂.
// Kept as each row's nonzeros (columns ascending), the only terms of the sums.
const wg_left_inverse wg2_left_inverse = {{1, 2, 1}, {{0}, {1, 2}, {3}}, {{1}, {1, -1}, {1}}};
const wg_left_inverse wg4_left_inverse = {{1, 2, 1}, {{0}, {1, 2}, {5}}, {{4}, {-3, 3}, {1}}};

typedef struct {
    const float *packed;
    float *g;
    ptrdiff_t cout, cin, blocks;
    const wg_variant *v;
} unpack_job;

// One block of 6 output channels back to 3×3 weights.
static void unpack_block(void *ctx, ptrdiff_t ib) {
    const unpack_job *j = ctx;
    const ptrdiff_t m = j->v->tile + 2, planes = j->v->planes;  // U is m × m
    const wg_left_inverse *inverse = j->v->left_inverse;
    float u[36];
    for (ptrdiff_t c = 0; c < j->cin; c++)
        for (ptrdiff_t r = 0; r < MR && ib * MR + r < j->cout; r++) {
            const ptrdiff_t o = ib * MR + r;
            for (ptrdiff_t k = 0; k < planes; k++) u[k] = j->packed[((k * j->blocks + ib) * j->cin + c) * MR + r];
            float *g = j->g + (o * j->cin + c) * 9;
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    // g[a][b] = Σ_p Σ_q G⁺[a][p] · U[p][q] · G⁺[b][q] over G⁺'s nonzeros, p and q ascending
                    float sum = 0.0f;
                    for (int i = 0; i < inverse->count[a]; i++)
                        for (int k = 0; k < inverse->count[b]; k++)
                            sum += inverse->value[a][i] * u[inverse->column[a][i] * m + inverse->column[b][k]] *
                                   inverse->value[b][k];
                    g[3 * a + b] = sum;
                }
        }
}

void ddim_winograd_unpack_weights(const float *packed, int tile, ptrdiff_t cout, ptrdiff_t cin, float *g) {
    unpack_job j = {packed, g, cout, cin, wg_round_up(cout, MR) / MR, wg_variant_of(tile)};
    ddim_parallel_for(j.blocks, unpack_block, &j);
}

// ---------------------------------------------------------------------------------------------
// C (6·blocks × 16, row stride ldc) = A (blocks of kc × 6, packed) · B (kc × 16, packed), a
// block at a time; the AVX-512 kernel (microkernel_avx512.c) takes up to 4 blocks at once.

static void kernel_generic(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                           ptrdiff_t ldc) {
    for (ptrdiff_t ib = 0; ib < blocks; ib++, a += lda, c += MR * ldc) {
        float acc[MR][NR] = {{0}};
        const float *ap = a, *bp = b;
        for (ptrdiff_t p = 0; p < kc; p++, ap += MR, bp += NR)
            for (int r = 0; r < MR; r++)
                for (int j = 0; j < NR; j++) acc[r][j] += ap[r] * bp[j];
        for (int r = 0; r < MR; r++) memcpy(c + r * ldc, acc[r], sizeof acc[r]);
    }
}

#if WG_AVX2
// One block: 12 accumulators (6 rows × two 8-lane halves), two loads of B and six broadcasts
// of A per step: 24 multiply-adds for 8 loads, which the two FMA pipes of a core keep busy.
WG_TARGET_AVX2 static void block_avx2(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
// row r of A (one broadcast) times both halves of B, into c<r>0 and c<r>1
#define ROW(i, r)                                                    \
    av = _mm256_broadcast_ss(a + (i) * MR + (r));                    \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                      \
    c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);
#define STEP(i)                                                                                  \
    {                                                                                            \
        const __m256 b0 = _mm256_loadu_ps(b + (i) * NR), b1 = _mm256_loadu_ps(b + (i) * NR + 8); \
        __m256 av;                                                                               \
        ROW(i, 0) ROW(i, 1) ROW(i, 2) ROW(i, 3) ROW(i, 4) ROW(i, 5)                              \
    }
    ptrdiff_t p = 0;
    for (; p + 4 <= kc; p += 4, a += 4 * MR, b += 4 * NR) {
        STEP(0) STEP(1) STEP(2) STEP(3)
    }
    for (; p < kc; p++, a += MR, b += NR) STEP(0)
#undef STEP
#undef ROW
#define STORE(r)                                     \
    _mm256_storeu_ps(c + (r) * ldc, c##r##0);        \
    _mm256_storeu_ps(c + (r) * ldc + 8, c##r##1);
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}

WG_TARGET_AVX2 static void kernel_avx2(ptrdiff_t blocks, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b,
                                       float *c, ptrdiff_t ldc) {
    for (ptrdiff_t ib = 0; ib < blocks; ib++) block_avx2(kc, a + ib * lda, b, c + ib * MR * ldc, ldc);
}
#endif

micro_kernel ddim_micro_kernel_for(int path) {
#if DDIM_HAVE_AVX512
    if (path >= DDIM_KERNELS_AVX512) return ddim_kernel_avx512;
#endif
#if WG_AVX2
    if (path >= DDIM_KERNELS_AVX2) return kernel_avx2;
#endif
    (void)path;
    return kernel_generic;
}
