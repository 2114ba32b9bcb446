// A whole Winograd F(2×2, 3×3) convolution in packed layouts, on ddim's thread pool.
//
// The 16 products M_k = U_k · V_k (Cout × Cin times Cin × tiles) are computed by our own 6 × 16
// register-blocked kernel instead of 16 OpenBLAS calls: U_k is packed once at load in blocks of
// 6 output channels, and the input transform writes V_k straight into panels of 16 tiles, so
// neither operand is packed again per call (OpenBLAS's copies and its β pass were ~15 % of a
// cifar10-32 forward at batch 1), and one parallel loop covers all 16 planes (at batch 1 each
// plane's GEMM is only 64–256 tiles wide, too small for OpenBLAS to split across threads).

#include "ckernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { MR = DDIM_WG_MR, NR = DDIM_WG_NR };

static ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

ptrdiff_t ddim_winograd_packed_count(ptrdiff_t cout, ptrdiff_t cin) { return 16 * round_up(cout, MR) * cin; }

void ddim_winograd_pack(const float *u, ptrdiff_t cout, ptrdiff_t cin, float *packed) {
    const ptrdiff_t blocks = round_up(cout, MR) / MR;
    for (ptrdiff_t k = 0; k < 16; k++)
        for (ptrdiff_t ib = 0; ib < blocks; ib++) {
            float *dst = packed + (k * blocks + ib) * cin * MR;
            for (ptrdiff_t c = 0; c < cin; c++)
                for (ptrdiff_t r = 0; r < MR; r++) {
                    const ptrdiff_t o = ib * MR + r;
                    dst[c * MR + r] = o < cout ? u[(k * cout + o) * cin + c] : 0.0f;
                }
        }
}

// ---------------------------------------------------------------------------------------------
// C (6 × 16, row stride ldc) = A (kc × 6, packed) · B (kc × 16, packed)

typedef void (*micro_kernel)(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc);

static void kernel_generic(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc) {
    float acc[MR][NR] = {{0}};
    for (ptrdiff_t p = 0; p < kc; p++, a += MR, b += NR)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r][j] += a[r] * b[j];
    for (int r = 0; r < MR; r++) memcpy(c + r * ldc, acc[r], sizeof acc[r]);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
// 12 accumulators (6 rows × two 8-lane halves), two loads of B and six broadcasts of A per step:
// 24 multiply-adds for 8 loads, which the two FMA pipes of a core keep busy.
__attribute__((target("avx2,fma"))) static void kernel_avx2(ptrdiff_t kc, const float *a, const float *b, float *c,
                                                            ptrdiff_t ldc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define STEP(i)                                                                   \
    {                                                                             \
        const __m256 b0 = _mm256_loadu_ps(b + (i) * NR), b1 = _mm256_loadu_ps(b + (i) * NR + 8); \
        __m256 av = _mm256_broadcast_ss(a + (i) * MR + 0);                        \
        c00 = _mm256_fmadd_ps(av, b0, c00);                                       \
        c01 = _mm256_fmadd_ps(av, b1, c01);                                       \
        av = _mm256_broadcast_ss(a + (i) * MR + 1);                               \
        c10 = _mm256_fmadd_ps(av, b0, c10);                                       \
        c11 = _mm256_fmadd_ps(av, b1, c11);                                       \
        av = _mm256_broadcast_ss(a + (i) * MR + 2);                               \
        c20 = _mm256_fmadd_ps(av, b0, c20);                                       \
        c21 = _mm256_fmadd_ps(av, b1, c21);                                       \
        av = _mm256_broadcast_ss(a + (i) * MR + 3);                               \
        c30 = _mm256_fmadd_ps(av, b0, c30);                                       \
        c31 = _mm256_fmadd_ps(av, b1, c31);                                       \
        av = _mm256_broadcast_ss(a + (i) * MR + 4);                               \
        c40 = _mm256_fmadd_ps(av, b0, c40);                                       \
        c41 = _mm256_fmadd_ps(av, b1, c41);                                       \
        av = _mm256_broadcast_ss(a + (i) * MR + 5);                               \
        c50 = _mm256_fmadd_ps(av, b0, c50);                                       \
        c51 = _mm256_fmadd_ps(av, b1, c51);                                       \
    }
    ptrdiff_t p = 0;
    for (; p + 4 <= kc; p += 4, a += 4 * MR, b += 4 * NR) {
        STEP(0) STEP(1) STEP(2) STEP(3)
    }
    for (; p < kc; p++, a += MR, b += NR) STEP(0)
#undef STEP
    _mm256_storeu_ps(c, c00);
    _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10);
    _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20);
    _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30);
    _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40);
    _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50);
    _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#endif

static micro_kernel pick_kernel(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (getenv("DDIM_GENERIC_KERNEL") == NULL && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return kernel_avx2;
#endif
    return kernel_generic;
}

// ---------------------------------------------------------------------------------------------
// One convolution, in chunks of tiles (whole images, or bands of tile rows of one large image).

typedef struct {
    const float *x, *u, *bias;
    float *y, *v, *m;
    ptrdiff_t cin, cout, cout_pad, h, w, tw;
    ptrdiff_t image0, images, row0, rows;  // the chunk
    ptrdiff_t tiles, tiles_pad, panels, blocks, channel_step;
    micro_kernel kernel;
} conv_job;

// Input task: channels [c0, c1) of every image of the chunk → V, panels of 16 tiles:
// V_k[panel][c][lane] at v + k·tiles_pad·cin + panel·cin·16 + c·16 + lane.
static void input_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t c0 = part * j->channel_step, c1 = c0 + j->channel_step < j->cin ? c0 + j->channel_step : j->cin;
    const ptrdiff_t run = j->rows * j->tw;  // tiles per image in the chunk
    float *rowbuf = malloc(sizeof(float) * (size_t)(16 * run));
    if (!rowbuf) abort();
    for (ptrdiff_t i = 0; i < j->images; i++) {
        const float *xi = j->x + (j->image0 + i) * j->cin * j->h * j->w;
        for (ptrdiff_t c = c0; c < c1; c++) {
            // the 16 planes of this channel's tiles, contiguous (ldv = run, one channel)
            ddim_winograd_input(xi + c * j->h * j->w, 1, 0, 1, j->h, j->w, j->row0, j->rows, rowbuf, run, 0);
            const ptrdiff_t t0 = i * run;
            for (ptrdiff_t k = 0; k < 16; k++) {
                const float *src = rowbuf + k * run;
                float *vk = j->v + k * j->tiles_pad * j->cin + c * NR;
                for (ptrdiff_t t = t0, s = 0; s < run;) {
                    const ptrdiff_t lane = t % NR, n = NR - lane < run - s ? NR - lane : run - s;
                    memcpy(vk + (t / NR) * j->cin * NR + lane, src + s, sizeof(float) * (size_t)n);
                    t += n;
                    s += n;
                }
            }
        }
    }
    // the last panel's lanes past the last tile: zeros (their products are never read)
    if (j->tiles_pad > j->tiles)
        for (ptrdiff_t k = 0; k < 16; k++)
            for (ptrdiff_t c = c0; c < c1; c++) {
                float *last = j->v + k * j->tiles_pad * j->cin + (j->panels - 1) * j->cin * NR + c * NR;
                for (ptrdiff_t lane = j->tiles % NR; lane < NR; lane++) last[lane] = 0.0f;
            }
    free(rowbuf);
}

// GEMM task: plane k, panel p: M_k[:, 16p…16p+15] = U_k · V_k[:, panel p], 6 rows at a time.
static void gemm_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t k = part / j->panels, p = part % j->panels;
    const float *b = j->v + k * j->tiles_pad * j->cin + p * j->cin * NR;
    float *mk = j->m + k * j->cout_pad * j->tiles_pad + p * NR;
    for (ptrdiff_t ib = 0; ib < j->blocks; ib++)
        j->kernel(j->cin, j->u + (k * j->blocks + ib) * j->cin * MR, b, mk + ib * MR * j->tiles_pad, j->tiles_pad);
}

// Output task: output channels [o0, o1) of every image of the chunk, bias added.
static void output_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t o0 = part * j->channel_step, o1 = o0 + j->channel_step < j->cout ? o0 + j->channel_step : j->cout;
    const ptrdiff_t run = j->rows * j->tw;
    for (ptrdiff_t i = 0; i < j->images; i++)
        ddim_winograd_output(j->m, j->tiles_pad, j->cout_pad, o0, o1, i * run, j->bias,
                             j->y + (j->image0 + i) * j->cout * j->h * j->w, j->h, j->w, j->row0, j->rows);
}

static ptrdiff_t steps_for(ptrdiff_t channels, int threads) {
    // several parts per thread, so that a thread held up elsewhere does not hold the loop
    const ptrdiff_t parts = 4 * (ptrdiff_t)threads;
    const ptrdiff_t step = (channels + parts - 1) / parts;
    return step < 1 ? 1 : step;
}

int ddim_winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                       ptrdiff_t cout, const float *bias, float *y) {
    static micro_kernel kernel;
    if (!kernel) kernel = pick_kernel();
    const ptrdiff_t th = (h + 1) / 2, tw = (w + 1) / 2, per_image = th * tw;
    const ptrdiff_t cout_pad = round_up(cout, MR);
    // scratch per operand ≤ 2 M floats (8 MB) unless one row of tiles needs more
    const ptrdiff_t widest = cin > cout_pad ? cin : cout_pad;
    ptrdiff_t max_tiles = (2 << 20) / (16 * widest);
    if (max_tiles < tw) max_tiles = tw;
    const ptrdiff_t images_per_chunk = per_image <= max_tiles ? (max_tiles / per_image < batch ? max_tiles / per_image : batch) : 1;
    const ptrdiff_t band = per_image <= max_tiles ? th : (max_tiles / tw < 1 ? 1 : max_tiles / tw);
    const ptrdiff_t capacity = round_up(per_image <= max_tiles ? images_per_chunk * per_image : band * tw, NR);
    float *v = aligned_alloc(64, sizeof(float) * (size_t)round_up(16 * cin * capacity, 16));
    float *m = aligned_alloc(64, sizeof(float) * (size_t)round_up(16 * cout_pad * capacity, 16));
    if (!v || !m) {
        free(v);
        free(m);
        return -1;
    }
    const int threads = ddim_pool_threads();
    conv_job j = {x, packed_u, bias, y, v, m, cin, cout, cout_pad, h, w, tw};
    j.blocks = cout_pad / MR;
    j.kernel = kernel;
    for (ptrdiff_t image = 0; image < batch;) {
        for (ptrdiff_t row0 = 0; row0 < th;) {
            j.image0 = image;
            j.images = per_image <= max_tiles ? (images_per_chunk < batch - image ? images_per_chunk : batch - image) : 1;
            j.row0 = row0;
            j.rows = per_image <= max_tiles ? th : (band < th - row0 ? band : th - row0);
            j.tiles = j.images * j.rows * tw;
            j.tiles_pad = round_up(j.tiles, NR);
            j.panels = j.tiles_pad / NR;
            j.channel_step = steps_for(cin, threads);
            ddim_parallel_for((cin + j.channel_step - 1) / j.channel_step, input_part, &j);
            ddim_parallel_for(16 * j.panels, gemm_part, &j);
            j.channel_step = steps_for(cout, threads);
            ddim_parallel_for((cout + j.channel_step - 1) / j.channel_step, output_part, &j);
            row0 += j.rows;
            if (j.images > 1 || row0 >= th) {
                image += j.images;
                break;
            }
        }
    }
    free(v);
    free(m);
    return 0;
}
