#include "ckernels.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DDIM_NO_CLONES 1  // ifunc resolvers run before ThreadSanitizer's runtime starts: a crash at load
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__)) && !defined(DDIM_NO_CLONES)
#define DDIM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DDIM_CLONES
#endif

// e^x: Cephes' expf. n = round(x / ln 2), r = x − n·ln 2 (two parts), e^r by a degree-5
// polynomial, 2^n through the exponent bits. Branch-free so that loops over it vectorise.
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    // round to nearest by adding and removing 1.5·2²³ (SSE2 has no vector round)
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return er * scale;
}

float ddim_exp(float x) { return exp_approx(x); }

DDIM_CLONES double ddim_sum(const float *x, ptrdiff_t n) {
    float lanes[16] = {0};
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) lanes[l] += x[i + l];
    double total = 0;
    for (int l = 0; l < 16; l++) total += lanes[l];
    for (; i < n; i++) total += x[i];
    return total;
}

DDIM_CLONES double ddim_sum_squares(const float *x, ptrdiff_t n, float mean) {
    float lanes[16] = {0};
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) {
            float d = x[i + l] - mean;
            lanes[l] += d * d;
        }
    double total = 0;
    for (int l = 0; l < 16; l++) total += lanes[l];
    for (; i < n; i++) {
        double d = (double)x[i] - mean;
        total += d * d;
    }
    return total;
}

DDIM_CLONES void ddim_affine(const float *x, float scale, float shift, int silu, float *y, ptrdiff_t n) {
    if (silu) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float v = x[i] * scale + shift;
            y[i] = v / (1.0f + exp_approx(-v));
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
    }
}

DDIM_CLONES void ddim_silu(float *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + exp_approx(-x[i]));
}

DDIM_CLONES void ddim_add_scalar(const float *x, float b, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] + b;
}

DDIM_CLONES void ddim_softmax_row(float *s, ptrdiff_t n) {
    // max in 16 lanes (a plain `m = max(m, s[i])` loop is not vectorised: NaN ordering)
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = -INFINITY;
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) lanes[l] = s[i + l] > lanes[l] ? s[i + l] : lanes[l];
    float m = -INFINITY;
    for (int l = 0; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
    for (; i < n; i++) m = s[i] > m ? s[i] : m;
    // e^(s − max) with no reduction in the loop, so that it vectorises; then the sum in lanes
    for (ptrdiff_t j = 0; j < n; j++) s[j] = exp_approx(s[j] - m);
    float inv = (float)(1.0 / ddim_sum(s, n));
    for (ptrdiff_t j = 0; j < n; j++) s[j] *= inv;
}

DDIM_CLONES void ddim_im2col(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width, ptrdiff_t k,
                             ptrdiff_t stride, ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t row0, ptrdiff_t rows,
                             ptrdiff_t wo, float *col, ptrdiff_t ld) {
    for (ptrdiff_t c = 0; c < channels; c++) {
        const float *xc = x + c * height * width;
        for (ptrdiff_t i = 0; i < k; i++) {
            for (ptrdiff_t j = 0; j < k; j++) {
                float *dst = col + ((c * k + i) * k + j) * ld;
                // the columns ox whose input ix = ox·stride + j − pad_left lies inside [0, width)
                ptrdiff_t lo = 0, hi = wo;
                while (lo < wo && lo * stride + j - pad_left < 0) lo++;
                while (hi > lo && (hi - 1) * stride + j - pad_left >= width) hi--;
                for (ptrdiff_t r = 0; r < rows; r++, dst += wo) {
                    ptrdiff_t iy = (row0 + r) * stride + i - pad_top;
                    if (iy < 0 || iy >= height) {
                        for (ptrdiff_t ox = 0; ox < wo; ox++) dst[ox] = 0;
                        continue;
                    }
                    const float *row = xc + iy * width + j - pad_left;
                    for (ptrdiff_t ox = 0; ox < lo; ox++) dst[ox] = 0;
                    if (stride == 1) {
                        for (ptrdiff_t ox = lo; ox < hi; ox++) dst[ox] = row[ox];
                    } else {
                        for (ptrdiff_t ox = lo; ox < hi; ox++) dst[ox] = row[ox * stride];
                    }
                    for (ptrdiff_t ox = hi; ox < wo; ox++) dst[ox] = 0;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// a 2×2 output tile Y from a 4×4 input tile d and a 3×3 kernel g is
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. Summed over input channels, the 16 element-wise products become
// 16 GEMMs M_k = U_k · V_k (Cout × Cin times Cin × tiles): 16 multiplies per 4 outputs instead
// of 36. Planes are indexed k = 4·row + column of the 4×4 transform.

DDIM_CLONES void ddim_winograd_weights(const float *g, ptrdiff_t cout, ptrdiff_t cin, float *u) {
    for (ptrdiff_t o = 0; o < cout; o++) {
        for (ptrdiff_t c = 0; c < cin; c++) {
            const float *w = g + (o * cin + c) * 9;
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
                float r[4] = {t[a][0], 0.5f * (t[a][0] + t[a][1] + t[a][2]), 0.5f * (t[a][0] - t[a][1] + t[a][2]), t[a][2]};
                for (int b = 0; b < 4; b++) u[((ptrdiff_t)(4 * a + b) * cout + o) * cin + c] = r[b];
            }
        }
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
DDIM_CLONES void ddim_winograd_input(const float *x, ptrdiff_t channels, ptrdiff_t c_begin, ptrdiff_t c_end, ptrdiff_t h,
                                     ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows, float *v, ptrdiff_t ldv,
                                     ptrdiff_t col0) {
    const ptrdiff_t tw = (w + 1) / 2, n = tw + 1;
    const ptrdiff_t plane = channels * ldv;
    float *scratch = malloc(sizeof(float) * (size_t)(16 * n));
    if (!scratch) abort();
    float *e[4], *o[4], *te[4], *to[4];
    for (int i = 0; i < 4; i++) {
        e[i] = scratch + (2 * i) * n;
        o[i] = scratch + (2 * i + 1) * n;
        te[i] = scratch + (8 + 2 * i) * n;
        to[i] = scratch + (8 + 2 * i + 1) * n;
    }
    for (ptrdiff_t c = c_begin; c < c_end; c++) {
        const float *xc = x + c * h * w;
        for (ptrdiff_t tr = 0; tr < tile_rows; tr++) {
            const ptrdiff_t iy0 = 2 * (tile_row0 + tr) - 1;
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
            float *dst = v + c * ldv + col0 + tr * tw;
            for (int i = 0; i < 4; i++) {
                wg_b_columns(te[i], te[i] + 1, to[i], to[i] + 1, dst + (4 * i + 0) * plane, dst + (4 * i + 1) * plane, dst + (4 * i + 2) * plane,
                             dst + (4 * i + 3) * plane, tw);
            }
        }
    }
    free(scratch);
}

// Aᵀ over rows of the 4×4 M (t0 = m0 + m1 + m2, t1 = m1 − m2 − m3), then A over columns:
// even output columns t_0 + t_1 + t_2, odd ones t_1 − t_2 − t_3; each plane's run of tiles is
// contiguous, so the loops vectorise, and the two columns are interleaved into the row last.
DDIM_CLONES void ddim_winograd_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                                      ptrdiff_t col0, const float *bias, float *y, ptrdiff_t h, ptrdiff_t w,
                                      ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
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
            }
        }
    }
    free(scratch);
}
