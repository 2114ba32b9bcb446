#include "ckernels.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "clones.h"

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

DDIM_CLONES void ddim_softmax_columns16(float *s, ptrdiff_t n) {
    // the 16 columns side by side, one lane each: every loop below is over lanes, so it vectorises
    float m[16], inv[16];
    double total[16];
    for (int l = 0; l < 16; l++) m[l] = -INFINITY, total[l] = 0.0;
    for (ptrdiff_t t = 0; t < n; t++)
        for (int l = 0; l < 16; l++) m[l] = s[t * 16 + l] > m[l] ? s[t * 16 + l] : m[l];
    // e^(s − max), summed in float over 64 rows at a time, then in double
    for (ptrdiff_t t0 = 0; t0 < n; t0 += 64) {
        const ptrdiff_t t1 = t0 + 64 < n ? t0 + 64 : n;
        float part[16] = {0};
        for (ptrdiff_t t = t0; t < t1; t++)
            for (int l = 0; l < 16; l++) {
                const float e = exp_approx(s[t * 16 + l] - m[l]);
                s[t * 16 + l] = e;
                part[l] += e;
            }
        for (int l = 0; l < 16; l++) total[l] += part[l];
    }
    for (int l = 0; l < 16; l++) inv[l] = (float)(1.0 / total[l]);
    for (ptrdiff_t t = 0; t < n; t++)
        for (int l = 0; l < 16; l++) s[t * 16 + l] *= inv[l];
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
