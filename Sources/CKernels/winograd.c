// A whole Winograd F(2×2, 3×3) convolution in packed layouts, on ddim's thread pool.
//
// The 16 products M_k = U_k · V_k (Cout × Cin times Cin × tiles) are computed by our own 6 × 16
// register-blocked kernel instead of 16 OpenBLAS calls: U_k is packed once at load in blocks of
// 6 output channels, and the input transform writes V_k straight into panels of 16 tiles, so
// neither operand is packed again per call (OpenBLAS's copies and its β pass were ~15 % of a
// cifar10-32 forward at batch 1), and one parallel loop covers all 16 planes (at batch 1 each
// plane's GEMM is only 64–256 tiles wide, too small for OpenBLAS to split across threads).

#include "ckernels.h"
#include "clones.h"
#include "microkernel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// a 2×2 output tile Y from a 4×4 input tile d and a 3×3 kernel g is
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. Summed over input channels, the 16 element-wise products become
// 16 GEMMs M_k = U_k · V_k (Cout × Cin times Cin × tiles): 16 multiplies per 4 outputs instead
// of 36. Planes are indexed k = 4·row + column of the 4×4 transform.

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

// Row helpers with restrict-qualified pointers: without them the compiler must assume the
// scratch rows and the 16 planes overlap. Rows are short (8–16 tiles at 16–32 px): one 8-wide
// vector per step, no interleaving, or clang's default (8 × 4 = 32 per step) leaves every
// row to the scalar remainder loop.
#if defined(__clang__)
#define WG_LOOP _Pragma("clang loop vectorize_width(8) interleave_count(1)")
#else
#define WG_LOOP
#endif
DDIM_CLONES static void wg_bt_rows(const float *restrict d0, const float *restrict d1, const float *restrict d2,
                              const float *restrict d3, float *restrict t0, float *restrict t1, float *restrict t2,
                              float *restrict t3, ptrdiff_t n) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < n; q++) {
        t0[q] = d0[q] - d2[q];
        t1[q] = d1[q] + d2[q];
        t2[q] = d2[q] - d1[q];
        t3[q] = d1[q] - d3[q];
    }
}

// E1 = E + 1 and O1 = O + 1, passed apart: read through one pointer, clang forwards E[q + 1]
// to the next iteration's E[q], a recurrence it then refuses to vectorise. (Read-only
// restrict pointers may overlap.)
DDIM_CLONES static void wg_b_columns(const float *restrict E, const float *restrict E1, const float *restrict O,
                                                   const float *restrict O1, float *restrict v0, float *restrict v1,
                                                   float *restrict v2, float *restrict v3, ptrdiff_t tw) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < tw; q++) {
        v0[q] = E[q] - E1[q];
        v1[q] = O[q] + E1[q];
        v2[q] = E1[q] - O[q];
        v3[q] = O[q] - O1[q];
    }
}

DDIM_CLONES static void wg_at_rows(const float *restrict q0, const float *restrict q1, const float *restrict q2,
                              const float *restrict q3, float *restrict t0, float *restrict t1, ptrdiff_t n) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < n; q++) {
        t0[q] = q0[q] + q1[q] + q2[q];
        t1[q] = q1[q] - q2[q] - q3[q];
    }
}

DDIM_CLONES static void wg_a_columns(const float *restrict t0, const float *restrict t1, const float *restrict t2,
                                const float *restrict t3, float b, float *restrict even, float *restrict odd, ptrdiff_t n) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < n; q++) {
        even[q] = t0[q] + t1[q] + t2[q] + b;
        odd[q] = t1[q] - t2[q] - t3[q] + b;
    }
}

// The transforms run on whole rows of tiles, so that every loop is contiguous and vectorises:
// the input's 4 rows of a tile row are split into even and odd columns (E[q] = row[2q − 1],
// O[q] = row[2q], 0 outside), Bᵀ combines rows element-wise, then B combines E and O:
//   V_0 = E[q] − E[q+1], V_1 = O[q] + E[q+1], V_2 = E[q+1] − O[q], V_3 = O[q] − O[q+1],
// each a contiguous run of ⌈w/2⌉ values in its plane.
// One tile row (tile_row) of one channel xc (h × w): the 16 transformed rows of ⌈w/2⌉ tiles each,
// to out[k], k = 0…15. scratch: 16·(⌈w/2⌉ + 1) floats.
DDIM_CLONES static void wg_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                                     float *const out[16]) {
    const ptrdiff_t tw = (w + 1) / 2, n = tw + 1;
    float *e[4], *o[4], *te[4], *to[4];
    for (int i = 0; i < 4; i++) {
        e[i] = scratch + (2 * i) * n;
        o[i] = scratch + (2 * i + 1) * n;
        te[i] = scratch + (8 + 2 * i) * n;
        to[i] = scratch + (8 + 2 * i + 1) * n;
    }
    const ptrdiff_t iy0 = 2 * tile_row - 1;
    for (int i = 0; i < 4; i++) {
        const ptrdiff_t iy = iy0 + i;
        if (iy < 0 || iy >= h) {
            memset(e[i], 0, sizeof(float) * (size_t)n);
            memset(o[i], 0, sizeof(float) * (size_t)n);
            continue;
        }
        const float *restrict row = xc + iy * w;
        float *restrict ei = e[i], *restrict oi = o[i];
        // E[q] = row[2q − 1], O[q] = row[2q]; q = 0…tw (the last pair may run past the edge)
        const ptrdiff_t last_e = w / 2, last_o = (w - 1) / 2;  // the last q inside the row
        ei[0] = 0.0f;
        WG_LOOP
        for (ptrdiff_t q = 1; q <= last_e; q++) ei[q] = row[2 * q - 1];
        WG_LOOP
        for (ptrdiff_t q = last_e + 1; q < n; q++) ei[q] = 0.0f;
        WG_LOOP
        for (ptrdiff_t q = 0; q <= last_o; q++) oi[q] = row[2 * q];
        WG_LOOP
        for (ptrdiff_t q = last_o + 1; q < n; q++) oi[q] = 0.0f;
    }
    // Bᵀ over rows: t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3
    wg_bt_rows(e[0], e[1], e[2], e[3], te[0], te[1], te[2], te[3], n);
    wg_bt_rows(o[0], o[1], o[2], o[3], to[0], to[1], to[2], to[3], n);
    for (int i = 0; i < 4; i++)
        wg_b_columns(te[i], te[i] + 1, to[i], to[i] + 1, out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3], tw);
}

// row[x] += r[x]: the residual added onto an output row.
DDIM_CLONES static void add_row(float *restrict row, const float *restrict r, ptrdiff_t w) {
    for (ptrdiff_t x = 0; x < w; x++) row[x] += r[x];
}

// Aᵀ over rows of the 4×4 M (t0 = m0 + m1 + m2, t1 = m1 − m2 − m3), then A over columns:
// even output columns t_0 + t_1 + t_2, odd ones t_1 − t_2 − t_3; each plane's run of tiles is
// contiguous, so the loops vectorise, and the two columns are interleaved into the row last.
// Output tiles from the 16 planes m[(k·cout + o)·ldm + col] (col = col0 + tile row · ⌈w/2⌉ + tile
// column): y[o][2·tr + i][2·tc + j] = (Aᵀ M A)[i][j] + bias[o] (+ res[o][2·tr + i][2·tc + j])
// for o in [o_begin, o_end) and tile rows [tile_row0, tile_row0 + tile_rows); y and res (either
// of bias and res may be NULL) are (cout, h, w).
DDIM_CLONES static void wg_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                                      ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                                      ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    const ptrdiff_t tw = (w + 1) / 2;
    const ptrdiff_t plane = cout * ldm;
    float *scratch = malloc(sizeof(float) * (size_t)(12 * tw));
    if (!scratch) abort();
    float *t[2][4], *even = scratch + 8 * tw, *odd = scratch + 9 * tw;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) t[i][j] = scratch + (4 * i + j) * tw;
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        float *yo = y + oc * h * w;
        for (ptrdiff_t tr = 0; tr < tile_rows; tr++) {
            const float *src = m + oc * ldm + col0 + tr * tw;
            for (int j = 0; j < 4; j++)
                wg_at_rows(src + j * plane, src + (4 + j) * plane, src + (8 + j) * plane, src + (12 + j) * plane, t[0][j], t[1][j], tw);
            const ptrdiff_t oy = 2 * (tile_row0 + tr);
            for (int i = 0; i < 2 && oy + i < h; i++) {
                wg_a_columns(t[i][0], t[i][1], t[i][2], t[i][3], b, even, odd, tw);
                float *restrict row = yo + (oy + i) * w;
                const ptrdiff_t pairs = w / 2;
                WG_LOOP
                for (ptrdiff_t q = 0; q < pairs; q++) {
                    row[2 * q] = even[q];
                    row[2 * q + 1] = odd[q];
                }
                if (w % 2) row[w - 1] = even[tw - 1];
                if (res) add_row(row, res + oc * h * w + (oy + i) * w, w);
            }
        }
    }
    free(scratch);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4×4, 3×3) (Lavin & Gray, points 0, ±1, ±2, ∞): a 4×4 output tile from a 6×6 input
// tile, Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, with
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//   G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
// 36 multiplies per 16 outputs (2.25 per output, against 4 for F(2×2) and 9 directly); the
// larger constants cost accuracy: ~1e-4 relative against ~1e-6 (docs/performance.md).
// Planes are indexed k = 6·row + column of the 6×6 transform.

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

// o = Bᵀ d over six rows d0…d5 of n values (element-wise).
DDIM_CLONES static void wg4_bt(const float *restrict d0, const float *restrict d1, const float *restrict d2,
                               const float *restrict d3, const float *restrict d4, const float *restrict d5,
                               float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
                               float *restrict o4, float *restrict o5, ptrdiff_t n) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < n; q++) {
        o0[q] = 4.0f * d0[q] - 5.0f * d2[q] + d4[q];
        o1[q] = -4.0f * (d1[q] + d2[q]) + d3[q] + d4[q];
        o2[q] = 4.0f * (d1[q] - d2[q]) - d3[q] + d4[q];
        o3[q] = 2.0f * (d3[q] - d1[q]) - d2[q] + d4[q];
        o4[q] = 2.0f * (d1[q] - d3[q]) - d2[q] + d4[q];
        o5[q] = 4.0f * d1[q] - 5.0f * d3[q] + d5[q];
    }
}

// One tile row of one channel for F(4×4): each of the 6 input rows split into 4 phases
// P_m[q] = row[4q − 1 + m] (0 outside), so that column j of tile q is P_j[q] (j < 4) or
// P_{j−4}[q + 1]; Bᵀ over the columns of each row, then over the rows. out[36], ⌈w/4⌉ each.
// scratch: 4·(⌈w/4⌉ + 1) + 36·⌈w/4⌉ floats.
DDIM_CLONES static void wg4_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                                      float *const out[]) {
    const ptrdiff_t tw = (w + 3) / 4, n = tw + 1;
    float *ph[4], *col[36];
    for (int m = 0; m < 4; m++) ph[m] = scratch + m * n;
    for (int i = 0; i < 36; i++) col[i] = scratch + 4 * n + i * tw;
    for (int r = 0; r < 6; r++) {
        float **cr = col + 6 * r;  // this row's six column combinations
        const ptrdiff_t iy = 4 * tile_row - 1 + r;
        if (iy < 0 || iy >= h) {
            for (int a = 0; a < 6; a++) memset(cr[a], 0, sizeof(float) * (size_t)tw);
            continue;
        }
        const float *restrict row = xc + iy * w;
        for (int m = 0; m < 4; m++) {
            float *restrict pm = ph[m];
            for (ptrdiff_t q = 0; q < n; q++) {
                const ptrdiff_t ix = 4 * q - 1 + m;
                pm[q] = ix >= 0 && ix < w ? row[ix] : 0.0f;
            }
        }
        wg4_bt(ph[0], ph[1], ph[2], ph[3], ph[0] + 1, ph[1] + 1, cr[0], cr[1], cr[2], cr[3], cr[4], cr[5], tw);
    }
    for (int a = 0; a < 6; a++)
        wg4_bt(col[a], col[6 + a], col[12 + a], col[18 + a], col[24 + a], col[30 + a], out[a], out[6 + a], out[12 + a],
               out[18 + a], out[24 + a], out[30 + a], tw);
}

// o = Aᵀ m over six rows (element-wise), plus b.
DDIM_CLONES static void wg4_at(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                               const float *restrict m3, const float *restrict m4, const float *restrict m5, float b,
                               float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3, ptrdiff_t n) {
    WG_LOOP
    for (ptrdiff_t q = 0; q < n; q++) {
        const float s12 = m1[q] + m2[q], d12 = m1[q] - m2[q], s34 = m3[q] + m4[q], d34 = m3[q] - m4[q];
        o0[q] = m0[q] + s12 + s34 + b;
        o1[q] = d12 + 2.0f * d34 + b;
        o2[q] = s12 + 4.0f * s34 + b;
        o3[q] = d12 + 8.0f * d34 + m5[q] + b;
    }
}

// The same for F(4×4, 3×3): 36 planes, 4×4 output tiles, ⌈w/4⌉ tiles a row.
DDIM_CLONES static void wg4_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                                       ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                                       ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    const ptrdiff_t tw = (w + 3) / 4;
    const ptrdiff_t plane = cout * ldm;
    float *scratch = malloc(sizeof(float) * (size_t)(28 * tw));
    if (!scratch) abort();
    float *t[4][6], *o[4];
    for (int i = 0; i < 4; i++) {
        for (int a = 0; a < 6; a++) t[i][a] = scratch + (6 * i + a) * tw;
        o[i] = scratch + (24 + i) * tw;
    }
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        float *yo = y + oc * h * w;
        for (ptrdiff_t tr = 0; tr < tile_rows; tr++) {
            const float *src = m + oc * ldm + col0 + tr * tw;
            // Aᵀ over the rows of M (plane 6·row + column), for each of the 6 columns
            for (int a = 0; a < 6; a++)
                wg4_at(src + a * plane, src + (6 + a) * plane, src + (12 + a) * plane, src + (18 + a) * plane,
                       src + (24 + a) * plane, src + (30 + a) * plane, 0.0f, t[0][a], t[1][a], t[2][a], t[3][a], tw);
            const ptrdiff_t oy = 4 * (tile_row0 + tr);
            for (int i = 0; i < 4 && oy + i < h; i++) {
                // A over the columns, the bias with it; the 4 columns of each tile interleaved last
                wg4_at(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], b, o[0], o[1], o[2], o[3], tw);
                float *restrict row = yo + (oy + i) * w;
                const ptrdiff_t whole = w / 4;
                for (ptrdiff_t q = 0; q < whole; q++) {
                    row[4 * q] = o[0][q];
                    row[4 * q + 1] = o[1][q];
                    row[4 * q + 2] = o[2][q];
                    row[4 * q + 3] = o[3][q];
                }
                for (ptrdiff_t x = 4 * whole; x < w; x++) row[x] = o[x % 4][whole];
                if (res) add_row(row, res + oc * h * w + (oy + i) * w, w);
            }
        }
    }
    free(scratch);
}

// ---------------------------------------------------------------------------------------------
// The transforms in AVX2 over 8 tiles at a time, one tile a lane. The row-wise code above keeps
// tiles in the lanes of whole tile rows, but at 16–32 px those rows are only 4–8 tiles long,
// and it first splits each input row into phases one scalar at a time: at small channel counts
// (the digits model's 32–64) its transforms took more time than the products. Here the input is
// first copied into a zero-bordered block (so that no tile needs a bounds check), each 8-tile
// group's window rows are loaded four columns at a time for two tiles ([tile i | tile i + 4])
// and transposed in registers, Bᵀ runs over the window's rows and then its columns, and each
// group's 16 or 36 values are stored as 8 lanes of their planes; the output transform is the
// mirror image (Aᵀ over rows and columns, a transpose, 4 floats a tile row stored).

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define WG_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))

// Lanes [0, n) of a group; n < 8 only for the last group of a run of tiles.
AVX2 static inline __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static inline __m256 load8(const float *p, int n, __m256i mask) {
    return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

AVX2 static inline void store8(float *p, __m256 v, int n, __m256i mask) {
    if (n == 8) {
        _mm256_storeu_ps(p, v);
    } else {
        _mm256_maskstore_ps(p, mask, v);
    }
}

// [4 floats at lo | 4 floats at hi]
AVX2 static inline __m256 load_halves(const float *lo, const float *hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
}

// Rows r_i = [tile i | tile i + 4] of 4 values each (i = 0…3) ↔ columns c_j with lane L = tile
// L's value j. Its own inverse.
AVX2 static inline void transpose_4x8(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 c[4]) {
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    c[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    c[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    c[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    c[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

// Values j…j + 3 of the window row at offset `at` of 8 tiles' windows p[L], as 4 lane vectors.
AVX2 static inline void window_columns(const float *const p[8], ptrdiff_t at, __m256 c[4]) {
    transpose_4x8(load_halves(p[0] + at, p[4] + at), load_halves(p[1] + at, p[5] + at),
                  load_halves(p[2] + at, p[6] + at), load_halves(p[3] + at, p[7] + at), c);
}

// F(2×2): o = Bᵀ d, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
AVX2 static inline void bt4_avx2(const __m256 d[4], __m256 o[4]) {
    o[0] = _mm256_sub_ps(d[0], d[2]);
    o[1] = _mm256_add_ps(d[1], d[2]);
    o[2] = _mm256_sub_ps(d[2], d[1]);
    o[3] = _mm256_sub_ps(d[1], d[3]);
}

// F(4×4): o = Bᵀ d, Bᵀ as in wg4_bt.
AVX2 static inline void bt6_avx2(const __m256 d[6], __m256 o[6]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
    // o0 = 4·d0 − 5·d2 + d4
    o[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    // o1 = −4·(d1 + d2) + d3 + d4,  o2 = 4·(d1 − d2) − d3 + d4
    o[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
    o[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
    // o3 = 2·(d3 − d1) − d2 + d4,  o4 = −2·(d3 − d1) − d2 + d4
    const __m256 e = _mm256_sub_ps(d[4], d[2]), f = _mm256_sub_ps(d[3], d[1]);
    o[3] = _mm256_fmadd_ps(two, f, e);
    o[4] = _mm256_fnmadd_ps(two, f, e);
    // o5 = 4·d1 − 5·d3 + d5
    o[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

// F(2×2): o = Aᵀ m, Aᵀ = [1 1 1 0; 0 1 −1 −1].
AVX2 static inline void at4_avx2(const __m256 m[4], __m256 o[2]) {
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
}

// F(4×4): o = Aᵀ m, Aᵀ as in wg4_at: o0 = m0 + (m1 + m2) + (m3 + m4), o1 = (m1 − m2) + 2·(m3 − m4),
// o2 = (m1 + m2) + 4·(m3 + m4), o3 = (m1 − m2) + 8·(m3 − m4) + m5.
AVX2 static inline void at6_avx2(const __m256 m[6], __m256 o[4]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), eight = _mm256_set1_ps(8.0f);
    const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_fmadd_ps(two, d34, d12);
    o[2] = _mm256_fmadd_ps(four, s34, s12);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d34, d12), m[5]);
}

// V = Bᵀ d B of 8 tiles, F(2×2): p[L] is the top-left of tile L's 4×4 window (row stride pw);
// lanes [0, n) of out[4a + b] + at receive V[a][b].
AVX2 static void wg2_input8(const float *const p[8], ptrdiff_t pw, float *const out[16], ptrdiff_t at, int n) {
    const __m256i mask = lane_mask(n);
    __m256 h[4][4];  // h[r] = the window's row r after Bᵀ over its columns
    for (int r = 0; r < 4; r++) {
        __m256 d[4];
        window_columns(p, r * pw, d);
        bt4_avx2(d, h[r]);
    }
    for (int b = 0; b < 4; b++) {
        const __m256 col[4] = {h[0][b], h[1][b], h[2][b], h[3][b]};
        __m256 v[4];
        bt4_avx2(col, v);
        for (int a = 0; a < 4; a++) store8(out[4 * a + b] + at, v[a], n, mask);
    }
}

// The same for F(4×4): 6×6 windows, 36 planes out[6a + b].
AVX2 static void wg4_input8(const float *const p[8], ptrdiff_t pw, float *const out[36], ptrdiff_t at, int n) {
    const __m256i mask = lane_mask(n);
    __m256 h[6][6];
    for (int r = 0; r < 6; r++) {
        __m256 d[6], rest[4];
        window_columns(p, r * pw, d);         // columns 0…3
        window_columns(p, r * pw + 4, rest);  // columns 4…7 (6 and 7 unused)
        d[4] = rest[0];
        d[5] = rest[1];
        bt6_avx2(d, h[r]);
    }
    for (int b = 0; b < 6; b++) {
        const __m256 col[6] = {h[0][b], h[1][b], h[2][b], h[3][b], h[4][b], h[5][b]};
        __m256 v[6];
        bt6_avx2(col, v);
        for (int a = 0; a < 6; a++) store8(out[6 * a + b] + at, v[a], n, mask);
    }
}

// The prologue of one input channel of one image: x' = x·scale + shift, then SiLU (`on` 0: x).
typedef struct {
    float scale, shift;
    int on, silu;
} channel_act;

// e^x of 8 lanes: exp_approx of kernels.c (Cephes' expf: n = round(x / ln 2), r = x − n·ln 2 in
// two parts, e^r by a degree-5 polynomial, 2^n through the exponent bits), in registers.
AVX2 static inline __m256 exp8_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
}

// silu(v) = v / (1 + e^(−v)) of 8 lanes.
AVX2 static inline __m256 silu8_avx2(__m256 v) {
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8_avx2(_mm256_xor_ps(v, _mm256_set1_ps(-0.0f)))));
}

// Input rows m·tile_row0 − 1 … of channel xc (h × w), enough for tile_rows rows of tiles, into
// pad with a zero border: pad[r·pw + j] = act(xc[m·tile_row0 − 1 + r][j − 1]), 0 outside. The
// prologue (x·scale + shift, then SiLU) runs here 8 lanes at a time with its constants in
// registers: rows are 8–32 floats at 8–32 px, and ddim_affine called per row took 1.8 ns a
// float at 8 (its loop's set-up), 1.1 at 32, 0.9 at 256, against 0.6 here (one thread, this VM).
AVX2 static void pad_window_rows(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t m, ptrdiff_t tile_row0,
                                 ptrdiff_t tile_rows, ptrdiff_t pw, const channel_act *act, float *pad) {
    const ptrdiff_t rows = m * tile_rows + 2, y0 = m * tile_row0 - 1;
    const __m256 scale = _mm256_set1_ps(act->scale), shift = _mm256_set1_ps(act->shift);
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *dst = pad + r * pw;
        const ptrdiff_t iy = y0 + r;
        if (iy < 0 || iy >= h) {
            memset(dst, 0, sizeof(float) * (size_t)pw);
            continue;
        }
        dst[0] = 0.0f;
        const float *src = xc + iy * w;
        if (!act->on) {
            memcpy(dst + 1, src, sizeof(float) * (size_t)w);
        } else {
            for (ptrdiff_t j = 0; j < w; j += 8) {
                const int n = w - j < 8 ? (int)(w - j) : 8;
                const __m256i mask = lane_mask(n);
                // x·scale + shift, then SiLU
                __m256 v = _mm256_fmadd_ps(load8(src + j, n, mask), scale, shift);
                if (act->silu) v = silu8_avx2(v);
                store8(dst + 1 + j, v, n, mask);
            }
        }
        memset(dst + 1 + w, 0, sizeof(float) * (size_t)(pw - 1 - w));
    }
}

// Row stride of the padded block: m·⌈w/m⌉ + 2 columns are read, and the last 4-float load of
// an F(4×4) window starts at column m·(tw − 1) + 4.
static ptrdiff_t pad_width(ptrdiff_t m, ptrdiff_t tw) { return m * tw + 4; }

// Tile rows [tile_row0, tile_row0 + tile_rows) of channel xc: tile (r, q) to lane r·tw + q of
// every out[k]. scratch: (m·tile_rows + 2)·pad_width floats.
AVX2 static void input_rows_avx2(ptrdiff_t planes, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                 ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *const out[]) {
    const ptrdiff_t m = planes == 16 ? 2 : 4, tw = (w + m - 1) / m, pw = pad_width(m, tw);
    pad_window_rows(xc, h, w, m, tile_row0, tile_rows, pw, act, scratch);
    const ptrdiff_t lanes = tile_rows * tw;
    for (ptrdiff_t g = 0; g < lanes; g += 8) {
        const int n = lanes - g < 8 ? (int)(lanes - g) : 8;
        const float *p[8];
        for (int i = 0; i < 8; i++) {
            const ptrdiff_t l = g + (i < n ? i : 0);  // lanes past the run repeat the first tile
            p[i] = scratch + m * (l / tw) * pw + m * (l % tw);
        }
        if (planes == 16) {
            wg2_input8(p, pw, out, g, n);
        } else {
            wg4_input8(p, pw, out, g, n);
        }
    }
}

// Y = Aᵀ M A + bias (+ R) of 8 tiles, F(2×2), Aᵀ = [1 1 1 0; 0 1 −1 −1]: lane L of m + k·plane is
// tile L's M_k; y + at[L] its output's top-left (row stride w), r + at[L] the residual's (r may
// be NULL). Lanes [0, n) only.
AVX2 static void wg2_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r, const ptrdiff_t at[8],
                             ptrdiff_t w, int n) {
    const __m256i mask = lane_mask(n);
    __m256 t[4][2];  // Aᵀ over the rows of M, for each of its 4 columns
    for (int b = 0; b < 4; b++) {
        __m256 c[4];
        for (int a = 0; a < 4; a++) c[a] = load8(m + (4 * a + b) * plane, n, mask);
        at4_avx2(c, t[b]);
    }
    const __m256 bv = _mm256_set1_ps(bias);
    for (int i = 0; i < 2; i++) {
        // A over the columns, then the bias
        const __m256 row[4] = {t[0][i], t[1][i], t[2][i], t[3][i]};
        __m256 o[2];
        at4_avx2(row, o);
        const __m256 y0 = _mm256_add_ps(o[0], bv), y1 = _mm256_add_ps(o[1], bv);
        // [tile 0: y0 y1, tile 1 | tile 4, tile 5] and [tiles 2, 3 | tiles 6, 7]
        const __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1);
        const __m128 q[4] = {_mm256_castps256_ps128(lo), _mm256_castps256_ps128(hi), _mm256_extractf128_ps(lo, 1),
                             _mm256_extractf128_ps(hi, 1)};
        for (int l = 0; l < n; l++) {
            __m128 pair = q[(l >> 2) * 2 + ((l >> 1) & 1)];
            float *dst = y + at[l] + i * w;
            if (l & 1) {
                if (r) pair = _mm_add_ps(pair, _mm_loadh_pi(_mm_setzero_ps(), (const __m64 *)(r + at[l] + i * w)));
                _mm_storeh_pi((__m64 *)dst, pair);
            } else {
                if (r) pair = _mm_add_ps(pair, _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(r + at[l] + i * w)));
                _mm_storel_pi((__m64 *)dst, pair);
            }
        }
    }
}

// The same for F(4×4): 36 planes, 4×4 output tiles.
AVX2 static void wg4_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r, const ptrdiff_t at[8],
                             ptrdiff_t w, int n) {
    const __m256i mask = lane_mask(n);
    __m256 t[6][4];  // Aᵀ over the rows of M, for each of its 6 columns
    for (int b = 0; b < 6; b++) {
        __m256 c[6];
        for (int a = 0; a < 6; a++) c[a] = load8(m + (6 * a + b) * plane, n, mask);
        at6_avx2(c, t[b]);
    }
    const __m256 bv = _mm256_set1_ps(bias);
    for (int i = 0; i < 4; i++) {
        // A over the columns, then the bias
        const __m256 row[6] = {t[0][i], t[1][i], t[2][i], t[3][i], t[4][i], t[5][i]};
        __m256 o[4];
        at6_avx2(row, o);
        __m256 rows[4];  // [tile j's row i | tile j + 4's]
        transpose_4x8(_mm256_add_ps(o[0], bv), _mm256_add_ps(o[1], bv), _mm256_add_ps(o[2], bv),
                      _mm256_add_ps(o[3], bv), rows);
        for (int l = 0; l < n; l++) {
            __m128 v = l < 4 ? _mm256_castps256_ps128(rows[l]) : _mm256_extractf128_ps(rows[l - 4], 1);
            if (r) v = _mm_add_ps(v, _mm_loadu_ps(r + at[l] + i * w));
            _mm_storeu_ps(y + at[l] + i * w, v);
        }
    }
}

// Output channels [o_begin, o_end), tile rows [tile_row0, tile_row0 + tile_rows) (lanes col0 +
// r·tw + q of each plane row), as output_tiles; h and w multiples of the tile.
AVX2 static void output_avx2(ptrdiff_t planes, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                             ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                             ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    const ptrdiff_t tile = planes == 16 ? 2 : 4, tw = w / tile, plane = cout * ldm, lanes = tile_rows * tw;
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        const float *src = m + oc * ldm + col0;
        float *yo = y + oc * h * w;
        const float *ro = res ? res + oc * h * w : NULL;
        for (ptrdiff_t g = 0; g < lanes; g += 8) {
            const int n = lanes - g < 8 ? (int)(lanes - g) : 8;
            ptrdiff_t at[8];  // each tile's top-left in its channel
            for (int i = 0; i < 8; i++) {
                const ptrdiff_t l = g + (i < n ? i : 0);
                at[i] = tile * (tile_row0 + l / tw) * w + tile * (l % tw);
            }
            if (planes == 16) {
                wg2_output8(src + g, plane, b, yo, ro, at, w, n);
            } else {
                wg4_output8(src + g, plane, b, yo, ro, at, w, n);
            }
        }
    }
}
#endif

enum { MR = DDIM_WG_MR, NR = DDIM_WG_NR };

static ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

ptrdiff_t ddim_winograd_packed_count(int tile, ptrdiff_t cout, ptrdiff_t cin) {
    return (tile == 4 ? 36 : 16) * round_up(cout, MR) * cin;
}

typedef struct {
    const float *g;
    float *packed;
    ptrdiff_t cout, cin, blocks, planes;
} pack_job;

// One block of 6 output channels: each kernel transformed, its planes scattered to
// packed[((k·blocks + block)·cin + c)·6 + r], zeros for rows past cout.
static void pack_block(void *ctx, ptrdiff_t ib) {
    const pack_job *j = ctx;
    float u[36];
    for (ptrdiff_t c = 0; c < j->cin; c++)
        for (ptrdiff_t r = 0; r < MR; r++) {
            const ptrdiff_t o = ib * MR + r;
            if (o < j->cout) {
                if (j->planes == 16) {
                    wg2_kernel_transform(j->g + (o * j->cin + c) * 9, u);
                } else {
                    wg4_kernel_transform(j->g + (o * j->cin + c) * 9, u);
                }
            } else {
                memset(u, 0, sizeof u);
            }
            for (ptrdiff_t k = 0; k < j->planes; k++) j->packed[((k * j->blocks + ib) * j->cin + c) * MR + r] = u[k];
        }
}

void ddim_winograd_pack_weights(const float *g, int tile, ptrdiff_t cout, ptrdiff_t cin, float *packed) {
    pack_job j = {g, packed, cout, cin, round_up(cout, MR) / MR, tile == 4 ? 36 : 16};
    ddim_parallel_for(j.blocks, pack_block, &j);
}

// The way back, g = G⁺ U G⁺ᵀ with a left inverse G⁺ of G (G⁺ G = I₃) made of G's own rows:
// F(2×2): rows 0 and 3 of G are e₀ and e₂, row 1 − row 2 = e₁;
// F(4×4): 4 · row 0 = e₀, 3 · (row 2 − row 1) = e₁, row 5 = e₂.
static const float wg2_left_inverse[3][4] = {{1, 0, 0, 0}, {0, 1, -1, 0}, {0, 0, 0, 1}};
static const float wg4_left_inverse[3][6] = {{4, 0, 0, 0, 0, 0}, {0, -3, 3, 0, 0, 0}, {0, 0, 0, 0, 0, 1}};

typedef struct {
    const float *packed;
    float *g;
    ptrdiff_t cout, cin, blocks, planes;
} unpack_job;

static void unpack_block(void *ctx, ptrdiff_t ib) {
    const unpack_job *j = ctx;
    const ptrdiff_t m = j->planes == 16 ? 4 : 6;
    float u[36];
    for (ptrdiff_t c = 0; c < j->cin; c++)
        for (ptrdiff_t r = 0; r < MR && ib * MR + r < j->cout; r++) {
            const ptrdiff_t o = ib * MR + r;
            for (ptrdiff_t k = 0; k < j->planes; k++) u[k] = j->packed[((k * j->blocks + ib) * j->cin + c) * MR + r];
            float *g = j->g + (o * j->cin + c) * 9;
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    // g[a][b] = Σ_p Σ_q G⁺[a][p] · U[p][q] · G⁺[b][q]
                    float sum = 0.0f;
                    for (ptrdiff_t p = 0; p < m; p++)
                        for (ptrdiff_t q = 0; q < m; q++) {
                            const float left = m == 4 ? wg2_left_inverse[a][p] : wg4_left_inverse[a][p];
                            const float right = m == 4 ? wg2_left_inverse[b][q] : wg4_left_inverse[b][q];
                            if (left != 0.0f && right != 0.0f) sum += left * u[p * m + q] * right;
                        }
                    g[3 * a + b] = sum;
                }
        }
}

void ddim_winograd_unpack_weights(const float *packed, int tile, ptrdiff_t cout, ptrdiff_t cin, float *g) {
    unpack_job j = {packed, g, cout, cin, round_up(cout, MR) / MR, tile == 4 ? 36 : 16};
    ddim_parallel_for(j.blocks, unpack_block, &j);
}

// ---------------------------------------------------------------------------------------------
// C (6 × 16, row stride ldc) = A (kc × 6, packed) · B (kc × 16, packed)


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

micro_kernel ddim_micro_kernel(void) {
    // picked once; callers on several threads may race to pick it, all picking the same one
    static _Atomic(micro_kernel) picked;
    micro_kernel kernel = atomic_load(&picked);
    if (!kernel) {
        kernel = pick_kernel();
        atomic_store(&picked, kernel);
    }
    return kernel;
}

micro_kernel ddim_micro_kernel_portable(void) { return kernel_generic; }

// The transforms of either algorithm, by its number of planes (16: F(2×2), 36: F(4×4)); `simd`:
// the AVX2 versions (when the AVX2 micro-kernel was picked).

// Floats of scratch one call of input_rows needs for `rows` tile rows of ⌈w/m⌉ tiles.
static ptrdiff_t input_scratch_count(ptrdiff_t planes, ptrdiff_t tw, ptrdiff_t rows) {
    const ptrdiff_t m = planes == 16 ? 2 : 4;
    const ptrdiff_t rowwise = planes == 16 ? 16 * (tw + 1) : 4 * (tw + 1) + 36 * tw;
    const ptrdiff_t padded = (m * rows + 2) * (m * tw + 4);
    return rowwise > padded ? rowwise : padded;
}

// Tile rows [tile_row0, tile_row0 + tile_rows) of act(channel xc): tile (r, q) to lane
// r·⌈w/m⌉ + q of every out[k]. `activated` (h × w floats, from activation_buffer) is where the
// portable code puts the activated rows it reads; the AVX2 code activates them as it copies.
static void input_rows(ptrdiff_t planes, int simd, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                       ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *activated,
                       float *const out[]) {
#if WG_AVX2
    if (simd) {
        input_rows_avx2(planes, xc, h, w, tile_row0, tile_rows, act, scratch, out);
        return;
    }
#else
    (void)simd;
#endif
    // the row-wise code reads the channel itself: with a prologue, the rows it reads (tile rows
    // r cover input rows m·r − 1 … m·r + m) activated into a copy of the channel first
    const ptrdiff_t m = planes == 16 ? 2 : 4;
    if (act->on) {
        ptrdiff_t y0 = m * tile_row0 - 1, y1 = m * (tile_row0 + tile_rows) + 1;
        if (y0 < 0) y0 = 0;
        if (y1 > h) y1 = h;
        if (y1 > y0) ddim_affine(xc + y0 * w, act->scale, act->shift, act->silu, activated + y0 * w, (y1 - y0) * w);
        xc = activated;
    }
    const ptrdiff_t tw = (w + m - 1) / m;
    for (ptrdiff_t r = 0; r < tile_rows; r++) {
        float *row_out[36];
        for (ptrdiff_t k = 0; k < planes; k++) row_out[k] = out[k] + r * tw;
        if (planes == 16) {
            wg_input_row(xc, h, w, tile_row0 + r, scratch, row_out);
        } else {
            wg4_input_row(xc, h, w, tile_row0 + r, scratch, row_out);
        }
    }
}

// A task's buffer for input_rows' activated rows: h × w floats where the portable transforms
// will apply a prologue, else NULL (free() it after the task).
static float *activation_buffer(const ddim_conv_prologue *pro, int simd, ptrdiff_t h, ptrdiff_t w) {
    if (!pro->scale || simd) return NULL;
    float *b = malloc(sizeof(float) * (size_t)(h * w));
    if (!b) abort();
    return b;
}

// Output tiles of one image: bias (per output channel) and res (that image's residual, y's
// shape) may be NULL.
static void output_tiles(ptrdiff_t planes, int simd, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                         ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                         ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
#if WG_AVX2
    const ptrdiff_t tile = planes == 16 ? 2 : 4;
    if (simd && h % tile == 0 && w % tile == 0) {  // whole tiles only; else the row-wise code
        output_avx2(planes, m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
        return;
    }
#else
    (void)simd;
#endif
    if (planes == 16) {
        wg_output(m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
    } else {
        wg4_output(m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
    }
}

// ---------------------------------------------------------------------------------------------
// One convolution, in chunks of tiles (whole images, or bands of tile rows of one large image).

typedef struct {
    const float *x, *u;
    ddim_conv_prologue pro;
    ddim_conv_epilogue ep;
    float *y, *v, *m;
    ptrdiff_t cin, cout, cout_pad, h, w, tw;
    ptrdiff_t image0, images, row0, rows;  // the chunk
    ptrdiff_t tiles, tiles_pad, panels, blocks, channel_step;
    ptrdiff_t planes;  // 16 for F(2×2, 3×3), 36 for F(4×4, 3×3)
    micro_kernel kernel;
    int simd;  // AVX2 transforms
} conv_job;

// The prologue of input channel c of an image.
static channel_act prologue_of(const ddim_conv_prologue *pro, ptrdiff_t cin, ptrdiff_t image, ptrdiff_t c) {
    if (!pro->scale) return (channel_act){1.0f, 0.0f, 0, 0};
    return (channel_act){pro->scale[image * cin + c], pro->shift[image * cin + c], 1, pro->silu};
}

// The bias of an image's output channels, and its residual (`per_image` floats an image).
static const float *epilogue_bias(const ddim_conv_epilogue *ep, ptrdiff_t image) {
    return ep->bias ? ep->bias + image * ep->bias_stride : NULL;
}
static const float *epilogue_residual(const ddim_conv_epilogue *ep, ptrdiff_t image, ptrdiff_t per_image) {
    return ep->residual ? ep->residual + image * per_image : NULL;
}

// Input task: channels [c0, c1) of every image of the chunk → V in panels of 16 tiles, the 16
// planes of a panel side by side: V_k[panel][c][lane] at v + ((panel·16 + k)·cin + c)·16 + lane,
// so that a tile row's 16 outputs land within 16·cin·64 bytes (a plane-major layout scattered
// them over 16 planes a quarter of a megabyte apart: the transform's stores ran 3× slower).
// When ⌈w/m⌉ divides 16 (8×8 … 32×32 maps, and wider ones), no tile row straddles two panels:
// the tile rows of one image that share a panel are transformed in place, in one call. Other
// widths go through a row buffer, a tile row at a time, split across panels.
static void input_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t c0 = part * j->channel_step, c1 = c0 + j->channel_step < j->cin ? c0 + j->channel_step : j->cin;
    const ptrdiff_t run = j->rows * j->tw;  // tiles per image in the chunk
    const int whole_rows = NR % j->tw == 0;
    const ptrdiff_t rows_per_call = whole_rows ? NR / j->tw : 1;
    // the transform's scratch, then a row buffer
    const ptrdiff_t own = input_scratch_count(j->planes, j->tw, rows_per_call);
    float *scratch = malloc(sizeof(float) * (size_t)(own + j->planes * j->tw));
    if (!scratch) abort();
    float *rowbuf = scratch + own;
    float *activated = activation_buffer(&j->pro, j->simd, j->h, j->w);
    const ptrdiff_t plane = j->cin * NR;  // from one plane of a panel to the next
    for (ptrdiff_t i = 0; i < j->images; i++) {
        const float *xi = j->x + (j->image0 + i) * j->cin * j->h * j->w;
        for (ptrdiff_t tr = 0; tr < j->rows;) {
            const ptrdiff_t t0 = i * run + tr * j->tw, lane0 = t0 % NR;
            ptrdiff_t rows = 1;
            if (whole_rows) {
                rows = (NR - lane0) / j->tw;
                if (rows > j->rows - tr) rows = j->rows - tr;
            }
            for (ptrdiff_t c = c0; c < c1; c++) {
                float *base = j->v + (t0 / NR) * j->planes * plane + c * NR + lane0;
                float *out[36];
                for (int k = 0; k < j->planes; k++) out[k] = whole_rows ? base + k * plane : rowbuf + k * j->tw;
                const channel_act act = prologue_of(&j->pro, j->cin, j->image0 + i, c);
                input_rows(j->planes, j->simd, xi + c * j->h * j->w, j->h, j->w, j->row0 + tr, rows, &act, scratch,
                           activated, out);
                if (whole_rows) continue;
                for (ptrdiff_t k = 0; k < j->planes; k++) {
                    float *vk = j->v + k * plane + c * NR;
                    for (ptrdiff_t t = t0, s = 0; s < j->tw;) {
                        const ptrdiff_t lane = t % NR, n = NR - lane < j->tw - s ? NR - lane : j->tw - s;
                        memcpy(vk + (t / NR) * j->planes * plane + lane, out[k] + s, sizeof(float) * (size_t)n);
                        t += n;
                        s += n;
                    }
                }
            }
            tr += rows;
        }
    }
    // the last panel's lanes past the last tile: zeros (their products are never read)
    if (j->tiles_pad > j->tiles)
        for (ptrdiff_t k = 0; k < j->planes; k++)
            for (ptrdiff_t c = c0; c < c1; c++) {
                float *last = j->v + ((j->panels - 1) * j->planes + k) * plane + c * NR;
                for (ptrdiff_t lane = j->tiles % NR; lane < NR; lane++) last[lane] = 0.0f;
            }
    free(activated);
    free(scratch);
}

// GEMM task: plane k, panel p: M_k[:, 16p…16p+15] = U_k · V_k[:, panel p], 6 rows at a time.
static void gemm_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t k = part / j->panels, p = part % j->panels;
    const float *b = j->v + (p * j->planes + k) * j->cin * NR;
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
        output_tiles(j->planes, j->simd, j->m, j->tiles_pad, j->cout_pad, o0, o1, i * run,
                     epilogue_bias(&j->ep, j->image0 + i), epilogue_residual(&j->ep, j->image0 + i, j->cout * j->h * j->w),
                     j->y + (j->image0 + i) * j->cout * j->h * j->w, j->h, j->w, j->row0, j->rows);
}

// ---------------------------------------------------------------------------------------------
// The fused path: one task per panel of 16 tiles does all three steps — transform its tiles of
// every input channel, multiply all planes, fold the products back into output tiles — with
// V and M of that panel alone (planes × (cin + cout) × 16 floats, a few hundred kB, in L2)
// instead of whole-chunk operands written and read back through memory between three loops.
// It needs panels made of whole tile rows of one image (⌈w/m⌉ divides 16, e.g. maps of 8–64
// px) and enough panels to share (at batch 1 a 16×16 map has one); else the three loops run.

// Each thread's panel scratch is its own mapping, outside the heap: a long-lived block in the
// heap, regrown now and then, kept freed activations from coalescing (celebahq-256's peak RSS
// rose by 70 MB with it in the heap).
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
typedef struct {
    float *p;
    size_t capacity;  // floats
} thread_scratch_t;
static void scratch_release(void *s) {
    thread_scratch_t *t = s;
    if (t->p) munmap(t->p, t->capacity * sizeof(float));
    free(t);
}
static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_release); }

// This thread's scratch of at least n floats (page-aligned), kept for its next task.
static float *thread_scratch(size_t n) {
    pthread_once(&scratch_once, scratch_key_init);
    thread_scratch_t *t = pthread_getspecific(scratch_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) abort();
        pthread_setspecific(scratch_key, t);
    }
    if (t->capacity < n) {
        if (t->p) munmap(t->p, t->capacity * sizeof(float));
        const size_t bytes = (n * sizeof(float) + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);  // whole MB
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) abort();
        t->p = p;
        t->capacity = bytes / sizeof(float);
    }
    return t->p;
}

typedef struct {
    const float *x, *u;
    ddim_conv_prologue pro;
    ddim_conv_epilogue ep;
    float *y;
    ptrdiff_t cin, cout, cout_pad, h, w, tw, planes, blocks, panels_per_image, rows_per_panel;
    micro_kernel kernel;
    int simd;  // AVX2 transforms
} fused_job;

static void fused_part(void *ctx, ptrdiff_t p) {
    const fused_job *j = ctx;
    const ptrdiff_t image = p / j->panels_per_image, tr0 = (p % j->panels_per_image) * j->rows_per_panel;
    const ptrdiff_t own = input_scratch_count(j->planes, j->tw, j->rows_per_panel);
    float *v = thread_scratch((size_t)(j->planes * (j->cin + j->cout_pad) * NR + own));
    float *m = v + j->planes * j->cin * NR, *scratch = m + j->planes * j->cout_pad * NR;
    const float *xi = j->x + image * j->cin * j->h * j->w;
    float *activated = activation_buffer(&j->pro, j->simd, j->h, j->w);
    // V_k (cin × 16) of this panel: tile row r of the panel in lanes r·tw…
    for (ptrdiff_t c = 0; c < j->cin; c++) {
        float *out[36];
        for (int k = 0; k < j->planes; k++) out[k] = v + (k * j->cin + c) * NR;
        const channel_act act = prologue_of(&j->pro, j->cin, image, c);
        input_rows(j->planes, j->simd, xi + c * j->h * j->w, j->h, j->w, tr0, j->rows_per_panel, &act, scratch,
                   activated, out);
    }
    free(activated);
    // M_k (cout × 16) = U_k · V_k
    for (ptrdiff_t k = 0; k < j->planes; k++)
        for (ptrdiff_t ib = 0; ib < j->blocks; ib++)
            j->kernel(j->cin, j->u + (k * j->blocks + ib) * j->cin * MR, v + k * j->cin * NR,
                      m + (k * j->cout_pad + ib * MR) * NR, NR);
    output_tiles(j->planes, j->simd, m, NR, j->cout_pad, 0, j->cout, 0, epilogue_bias(&j->ep, image),
                 epilogue_residual(&j->ep, image, j->cout * j->h * j->w), j->y + image * j->cout * j->h * j->w, j->h,
                 j->w, tr0, j->rows_per_panel);
}

static ptrdiff_t steps_for(ptrdiff_t channels, int threads) {
    // several parts per thread, so that a thread held up elsewhere does not hold the loop
    const ptrdiff_t parts = 4 * (ptrdiff_t)threads;
    const ptrdiff_t step = (channels + parts - 1) / parts;
    return step < 1 ? 1 : step;
}

static int winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                         int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y,
                         micro_kernel kernel);

int ddim_winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                       int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y) {
    return winograd_conv(x, batch, cin, h, w, packed_u, tile, cout, pro, ep, y, ddim_micro_kernel());
}

int ddim_winograd_conv_portable(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w,
                                const float *packed_u, int tile, ptrdiff_t cout, const ddim_conv_prologue *pro,
                                const ddim_conv_epilogue *ep, float *y) {
    return winograd_conv(x, batch, cin, h, w, packed_u, tile, cout, pro, ep, y, kernel_generic);
}

static int winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                         int tile, ptrdiff_t cout, const ddim_conv_prologue *prologue, const ddim_conv_epilogue *epilogue,
                         float *y, micro_kernel kernel) {
    const ddim_conv_prologue pro = prologue ? *prologue : (ddim_conv_prologue){NULL, NULL, 0};
    const ddim_conv_epilogue ep = epilogue ? *epilogue : (ddim_conv_epilogue){NULL, 0, NULL};
#if WG_AVX2
    const int simd = kernel == kernel_avx2;  // DDIM_GENERIC_KERNEL=1: the portable transforms too
#else
    const int simd = 0;
#endif
    const ptrdiff_t planes = tile == 4 ? 36 : 16;
    const ptrdiff_t th = (h + tile - 1) / tile, tw = (w + tile - 1) / tile, per_image = th * tw;
    const ptrdiff_t cout_pad = round_up(cout, MR);
    const int threads = ddim_pool_threads();
    if (NR % tw == 0 && th % (NR / tw) == 0 && batch * per_image / NR >= 2 * threads && getenv("DDIM_WINOGRAD_UNFUSED") == NULL) {
        fused_job f = {x, packed_u, pro, ep, y, cin, cout, cout_pad, h, w, tw, planes, cout_pad / MR,
                       per_image / NR, NR / tw, kernel, simd};
        ddim_parallel_for(batch * f.panels_per_image, fused_part, &f);
        return 0;
    }
    // scratch per operand ≤ 2 M floats (8 MB) unless one row of tiles needs more
    const ptrdiff_t widest = cin > cout_pad ? cin : cout_pad;
    ptrdiff_t max_tiles = (2 << 20) / (planes * widest);
    if (max_tiles < tw) max_tiles = tw;
    const ptrdiff_t images_per_chunk = per_image <= max_tiles ? (max_tiles / per_image < batch ? max_tiles / per_image : batch) : 1;
    const ptrdiff_t band = per_image <= max_tiles ? th : (max_tiles / tw < 1 ? 1 : max_tiles / tw);
    const ptrdiff_t capacity = round_up(per_image <= max_tiles ? images_per_chunk * per_image : band * tw, NR);
    float *v = alloc_aligned((size_t)(planes * cin * capacity));
    float *m = alloc_aligned((size_t)(planes * cout_pad * capacity));
    if (!v || !m) {
        free_aligned(v);
        free_aligned(m);
        return -1;
    }
    conv_job j = {x, packed_u, pro, ep, y, v, m, cin, cout, cout_pad, h, w, tw};
    j.blocks = cout_pad / MR;
    j.planes = planes;
    j.kernel = kernel;
    j.simd = simd;
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
            ddim_parallel_for(planes * j.panels, gemm_part, &j);
            j.channel_step = steps_for(cout, threads);
            ddim_parallel_for((cout + j.channel_step - 1) / j.channel_step, output_part, &j);
            row0 += j.rows;
            if (j.images > 1 || row0 >= th) {
                image += j.images;
                break;
            }
        }
    }
    free_aligned(v);
    free_aligned(m);
    return 0;
}
