// The Winograd transforms in portable C, row-wise: F(2×2, 3×3) and F(4×4, 3×3) — the input
// tiles' V = Bᵀ d B and the output tiles' Y = Aᵀ M A (the kernels' U = G g Gᵀ is made at load
// in winograd_gemm.c, with their packing) — for any
// CPU, and for x86-64 ones without AVX2 + FMA or under DDIM_KERNELS=portable (the AVX2 and
// AVX-512 versions are in winograd_transforms_avx2.c and winograd_transforms_avx512.c). Tiles lie in the lanes of whole tile rows, so that every
// loop is contiguous and vectorises (target_clones builds each for x86-64-v3 and the baseline).

#include "winograd.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// a 2×2 output tile Y from a 4×4 input tile d and a 3×3 kernel g is
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. Summed over input channels, the 16 element-wise products become
// 16 GEMMs M_k = U_k · V_k (Cout × Cin times Cin × tiles): 16 multiplies per 4 outputs instead
// of 36. Planes are indexed k = 4·row + column of the 4×4 transform.

// Row helpers with restrict-qualified pointers: without them the compiler must assume the
// scratch rows and the 16 planes overlap. Rows are short (8–16 tiles at 16–32 px): one 8-wide
// vector per step, no interleaving, or clang's default (8 × 4 = 32 per step) leaves every
// row to the scalar remainder loop.
#if defined(__clang__)
#define WG_LOOP _Pragma("clang loop vectorize_width(8) interleave_count(1)")
#else
#define WG_LOOP
#endif
// t = Bᵀ d over four rows d0…d3 of n values (element-wise). B over columns is the same
// combination of E, O, E + 1 and O + 1: those are passed apart, as d0…d3, for read through one
// pointer clang forwards E[q + 1] to the next iteration's E[q], a recurrence it then refuses to
// vectorise (read-only restrict pointers may overlap).
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

// Floats of scratch wg2_input_row needs for tw = ⌈w/2⌉ tiles a row: 16 rows of tw + 1.
ptrdiff_t wg2_row_scratch(ptrdiff_t tw) { return 16 * (tw + 1); }

// The transforms run on whole rows of tiles, so that every loop is contiguous and vectorises:
// the input's 4 rows of a tile row are split into even and odd columns (E[q] = row[2q − 1],
// O[q] = row[2q], 0 outside), Bᵀ combines rows element-wise, then B combines E and O:
//   V_0 = E[q] − E[q+1], V_1 = O[q] + E[q+1], V_2 = E[q+1] − O[q], V_3 = O[q] − O[q+1],
// each a contiguous run of ⌈w/2⌉ values in its plane.
// One tile row (tile_row) of one channel xc (h × w): the 16 transformed rows of ⌈w/2⌉ tiles each,
// to out[k], k = 0…15. scratch: wg2_row_scratch(⌈w/2⌉) floats.
DDIM_CLONES void wg2_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                               float *const out[]) {
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
        wg_bt_rows(te[i], to[i], te[i] + 1, to[i] + 1, out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3], tw);
}

// row[x] += r[x]: the residual added onto an output row.
DDIM_CLONES static void add_row(float *restrict row, const float *restrict r, ptrdiff_t w) {
    for (ptrdiff_t x = 0; x < w; x++) row[x] += r[x];
}

// The output tiles of F(m×m), s = m + 2, row-wise, as wg_output_fn (winograd.h) says: for each
// output channel and tile row, Aᵀ over the rows of M (`at_rows`: the m × s rows t[s·i + j] of
// ⌈w/m⌉ tiles), then for each output row A over the columns of t[s·i …] with the bias,
// interleaved into the row (`a_row`, through the m rows o), and the residual. m and both
// functions are constants: inlined into each algorithm's own copy, as if written out twice.
typedef void (*wg_at_rows_fn)(const float *src, ptrdiff_t plane, float *const t[], ptrdiff_t tw);
typedef void (*wg_a_row_fn)(float *const t[], float b, float *row, ptrdiff_t w, ptrdiff_t tw, float *const o[]);
static inline __attribute__((always_inline)) void output_rows(const float *m, ptrdiff_t ldm, ptrdiff_t cout,
                                                              ptrdiff_t o_begin, ptrdiff_t o_end, ptrdiff_t col0,
                                                              const float *bias, const float *res, float *y,
                                                              ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                                              ptrdiff_t tile_rows, ptrdiff_t mm, wg_at_rows_fn at_rows,
                                                              wg_a_row_fn a_row) {
    const ptrdiff_t s = mm + 2, tw = (w + mm - 1) / mm, plane = cout * ldm;
    float *scratch = malloc(sizeof(float) * (size_t)((mm * s + mm) * tw));
    if (!scratch) abort();
    float *t[4 * 6], *o[4];
    for (ptrdiff_t i = 0; i < mm; i++) {
        for (ptrdiff_t j = 0; j < s; j++) t[s * i + j] = scratch + (s * i + j) * tw;
        o[i] = scratch + (mm * s + i) * tw;
    }
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        float *yo = y + oc * h * w;
        for (ptrdiff_t tr = 0; tr < tile_rows; tr++) {
            at_rows(m + oc * ldm + col0 + tr * tw, plane, t, tw);
            const ptrdiff_t oy = mm * (tile_row0 + tr);
            for (ptrdiff_t i = 0; i < mm && oy + i < h; i++) {
                float *row = yo + (oy + i) * w;
                a_row(t + s * i, b, row, w, tw, o);
                if (res) add_row(row, res + oc * h * w + (oy + i) * w, w);
            }
        }
    }
    free(scratch);
}

// F(2×2): Aᵀ over rows of the 4×4 M (t0 = m0 + m1 + m2, t1 = m1 − m2 − m3), each plane's run of
// tiles contiguous, so the loops vectorise.
static inline __attribute__((always_inline)) void wg2_at_rows(const float *src, ptrdiff_t plane, float *const t[],
                                                              ptrdiff_t tw) {
    for (int j = 0; j < 4; j++)
        wg_at_rows(src + j * plane, src + (4 + j) * plane, src + (8 + j) * plane, src + (12 + j) * plane, t[j],
                   t[4 + j], tw);
}

// F(2×2): A over the columns, even output columns t_0 + t_1 + t_2, odd ones t_1 − t_2 − t_3,
// interleaved into the row last.
static inline __attribute__((always_inline)) void wg2_a_row(float *const t[], float b, float *restrict row,
                                                            ptrdiff_t w, ptrdiff_t tw, float *const o[]) {
    float *even = o[0], *odd = o[1];
    wg_a_columns(t[0], t[1], t[2], t[3], b, even, odd, tw);
    const ptrdiff_t pairs = w / 2;
    WG_LOOP
    for (ptrdiff_t q = 0; q < pairs; q++) {
        row[2 * q] = even[q];
        row[2 * q + 1] = odd[q];
    }
    if (w % 2) row[w - 1] = even[tw - 1];
}

DDIM_CLONES void wg2_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                            ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h, ptrdiff_t w,
                            ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    output_rows(m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows, 2, wg2_at_rows,
                wg2_a_row);
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

// Floats of scratch wg4_input_row needs for tw = ⌈w/4⌉ tiles a row: 4 phases of tw + 1, 36 rows of tw.
ptrdiff_t wg4_row_scratch(ptrdiff_t tw) { return 4 * (tw + 1) + 36 * tw; }

// One tile row of one channel for F(4×4): each of the 6 input rows split into 4 phases
// P_m[q] = row[4q − 1 + m] (0 outside), so that column j of tile q is P_j[q] (j < 4) or
// P_{j−4}[q + 1]; Bᵀ over the columns of each row, then over the rows. out[36], ⌈w/4⌉ each.
// scratch: wg4_row_scratch(⌈w/4⌉) floats.
DDIM_CLONES void wg4_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
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

// F(4×4): Aᵀ over the rows of M (plane 6·row + column), for each of the 6 columns.
static inline __attribute__((always_inline)) void wg4_at_rows(const float *src, ptrdiff_t plane, float *const t[],
                                                              ptrdiff_t tw) {
    for (int a = 0; a < 6; a++)
        wg4_at(src + a * plane, src + (6 + a) * plane, src + (12 + a) * plane, src + (18 + a) * plane,
               src + (24 + a) * plane, src + (30 + a) * plane, 0.0f, t[a], t[6 + a], t[12 + a], t[18 + a], tw);
}

// F(4×4): A over the columns, the bias with it; the 4 columns of each tile interleaved last.
static inline __attribute__((always_inline)) void wg4_a_row(float *const t[], float b, float *restrict row,
                                                            ptrdiff_t w, ptrdiff_t tw, float *const o[]) {
    wg4_at(t[0], t[1], t[2], t[3], t[4], t[5], b, o[0], o[1], o[2], o[3], tw);
    const ptrdiff_t whole = w / 4;
    for (ptrdiff_t q = 0; q < whole; q++) {
        row[4 * q] = o[0][q];
        row[4 * q + 1] = o[1][q];
        row[4 * q + 2] = o[2][q];
        row[4 * q + 3] = o[3][q];
    }
    for (ptrdiff_t x = 4 * whole; x < w; x++) row[x] = o[x % 4][whole];
}

// The same for F(4×4, 3×3): 36 planes, 4×4 output tiles, ⌈w/4⌉ tiles a row.
DDIM_CLONES void wg4_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                            ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h, ptrdiff_t w,
                            ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    output_rows(m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows, 4, wg4_at_rows,
                wg4_a_row);
}
