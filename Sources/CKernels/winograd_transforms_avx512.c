#include "winograd.h"

#include <string.h>
#if DDIM_HAVE_AVX512
#include "avx512_math.h"

#include <immintrin.h>
#endif

// The Winograd input rows in AVX-512 (x86-64 only; the driver runs them with the AVX-512 GEMM
// kernel): the copy of the input rows into the zero-bordered block, with the prologue
// (x·scale + shift, then SiLU) applied 16 lanes at a time — a 32-px row is two registers, a
// 16-px one one, shorter rows and tails one masked register — and the SiLU's division by a
// 14-bit reciprocal estimate and one Newton step (VRCP14PS; VDIVPS of a ZMM register takes as
// long per lane as a YMM one). That copy was ~16 % of a digits forward on the AVX2 path. The
// transforms of 8-tile groups that follow are the AVX2 ones (winograd_transforms_avx2.c).

#if DDIM_HAVE_AVX512
#define AVX512 DDIM_TARGET_AVX512

// silu(v) = v / (1 + e^(−v)) of 16 lanes.
AVX512 static inline __m512 silu16(__m512 v) {
    const __m512 one = _mm512_set1_ps(1.0f);
    // d = 1 + e^(−v) (≥ 1, finite: e^(−v) ≤ e^87)
    const __m512 d = _mm512_add_ps(one, exp16(_mm512_xor_ps(v, _mm512_set1_ps(-0.0f))));
    // 1/d: y₀ from VRCP14PS (relative error < 2⁻¹⁴), then y₁ = y₀ + y₀·(1 − d·y₀) (error ~2⁻²⁸)
    const __m512 y0 = _mm512_rcp14_ps(d);
    const __m512 y1 = _mm512_fmadd_ps(y0, _mm512_fnmadd_ps(d, y0, one), y0);
    return _mm512_mul_ps(v, y1);
}

// Input rows m·tile_row0 − 1 … of channel xc (h × w), enough for tile_rows rows of tiles, into
// pad with a zero border: pad[r·pw + j] = act(xc[m·tile_row0 − 1 + r][j − 1]), 0 outside (as
// winograd_transforms_avx2.c's pad_window_rows).
AVX512 static void pad_window_rows16(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t m, ptrdiff_t tile_row0,
                                     ptrdiff_t tile_rows, ptrdiff_t pw, const channel_act *act, float *pad) {
    const ptrdiff_t rows = m * tile_rows + 2, y0 = m * tile_row0 - 1;
    const __m512 scale = _mm512_set1_ps(act->scale), shift = _mm512_set1_ps(act->shift);
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
            for (ptrdiff_t j = 0; j < w; j += 16) {
                const __mmask16 mask = w - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (w - j)) - 1);
                // x·scale + shift, then SiLU
                __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, src + j), scale, shift);
                if (act->silu) v = silu16(v);
                _mm512_mask_storeu_ps(dst + 1 + j, mask, v);
            }
        }
        memset(dst + 1 + w, 0, sizeof(float) * (size_t)(pw - 1 - w));
    }
}

// Tile rows [tile_row0, tile_row0 + tile_rows) of channel xc: tile (r, q) to lane r·tw + q of
// every out[k]. scratch: (m·tile_rows + 2)·wg_pad_width floats.
AVX512 void wg_input_rows_avx512(const wg_variant *v, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                 ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *const out[]) {
    const ptrdiff_t m = v->tile, tw = (w + m - 1) / m, pw = wg_pad_width(m, tw);
    const wg_input8_fn input8 = v->input8;
    pad_window_rows16(xc, h, w, m, tile_row0, tile_rows, pw, act, scratch);
    const ptrdiff_t lanes = tile_rows * tw;
    for (ptrdiff_t g = 0; g < lanes; g += 8) {
        const int n = lanes - g < 8 ? (int)(lanes - g) : 8;
        const float *p[8];
        for (int i = 0; i < 8; i++) {
            const ptrdiff_t l = g + (i < n ? i : 0);  // lanes past the run repeat the first tile
            p[i] = scratch + m * (l / tw) * pw + m * (l % tw);
        }
        input8(p, pw, out, g, n);
    }
}
#endif  // DDIM_HAVE_AVX512
