#include "winograd.h"

#include <string.h>
#if WG_AVX2
#include <immintrin.h>
#endif

// The Winograd transforms in AVX2 over 8 tiles at a time, one tile a lane (x86-64 only; the
// driver picks them with the AVX2 GEMM kernel). The row-wise code (winograd_transforms_portable.c)
// keeps tiles in the lanes of whole tile rows, but at 16–32 px those rows are only 4–8 tiles
// long, and it first splits each input row into phases one scalar at a time: at small channel
// counts (the digits model's 32–64) its transforms took more time than the products. Here the
// input is first copied into a zero-bordered block (so that no tile needs a bounds check), each
// 8-tile group's window rows are loaded four columns at a time for two tiles ([tile i | tile
// i + 4]) and transposed in registers, Bᵀ runs over the window's rows and then its columns, and
// each group's 16 or 36 values are stored as 8 lanes of their planes; the output transform is
// the mirror image (Aᵀ over rows and columns, a transpose, 4 floats a tile row stored).

#if WG_AVX2
#define AVX2 WG_TARGET_AVX2

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

// F(4×4): o = Bᵀ d, Bᵀ as in wg4_bt (winograd_transforms_portable.c).
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

// F(4×4): o = Aᵀ m, Aᵀ as in wg4_at (portable file): o0 = m0 + (m1 + m2) + (m3 + m4), o1 = (m1 − m2) + 2·(m3 − m4),
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
AVX2 void wg2_input8(const float *const p[8], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
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
AVX2 void wg4_input8(const float *const p[8], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
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

// Tile rows [tile_row0, tile_row0 + tile_rows) of channel xc: tile (r, q) to lane
// l = r·tw + q of every out[k], at out[k] + l + ⌊l/16⌋·panel_jump (panel_jump 0: contiguous;
// else lanes in panels of 16 that far apart, which needs tw a multiple of 8 so that no group of
// 8 crosses a panel). scratch: (m·tile_rows + 2)·wg_pad_width floats.
AVX2 void wg_input_rows_avx2(const wg_variant *v, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                             ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *const out[],
                             ptrdiff_t panel_jump) {
    const ptrdiff_t m = v->tile, tw = (w + m - 1) / m, pw = wg_pad_width(m, tw);
    const wg_input8_fn input8 = v->input8;
    pad_window_rows(xc, h, w, m, tile_row0, tile_rows, pw, act, scratch);
    const ptrdiff_t lanes = tile_rows * tw;
    for (ptrdiff_t g = 0; g < lanes; g += 8) {
        const int n = lanes - g < 8 ? (int)(lanes - g) : 8;
        const float *p[8];
        for (int i = 0; i < 8; i++) {
            const ptrdiff_t l = g + (i < n ? i : 0);  // lanes past the run repeat the first tile
            p[i] = scratch + m * (l / tw) * pw + m * (l % tw);
        }
        input8(p, pw, out, g + g / NR * panel_jump, n);
    }
}

// Stores row i of 8 tiles' outputs (y: its m lane vectors, lane L tile L's value j in y[j]) at
// out + at[L] + i·w, adding the residual r + at[L] + i·w when r is not NULL; lanes [0, n) only.
typedef void (*store_row_fn)(const __m256 *y, int i, float *out, const float *r, const ptrdiff_t at[8], ptrdiff_t w,
                             int n);

// F(2×2): two floats a tile.
AVX2 static inline void store_row2(const __m256 *y, int i, float *out, const float *r, const ptrdiff_t at[8],
                                   ptrdiff_t w, int n) {
    // [tile 0: y0 y1, tile 1 | tile 4, tile 5] and [tiles 2, 3 | tiles 6, 7]
    const __m256 lo = _mm256_unpacklo_ps(y[0], y[1]), hi = _mm256_unpackhi_ps(y[0], y[1]);
    const __m128 q[4] = {_mm256_castps256_ps128(lo), _mm256_castps256_ps128(hi), _mm256_extractf128_ps(lo, 1),
                         _mm256_extractf128_ps(hi, 1)};
    for (int l = 0; l < n; l++) {
        __m128 pair = q[(l >> 2) * 2 + ((l >> 1) & 1)];
        float *dst = out + at[l] + i * w;
        if (l & 1) {
            if (r) pair = _mm_add_ps(pair, _mm_loadh_pi(_mm_setzero_ps(), (const __m64 *)(r + at[l] + i * w)));
            _mm_storeh_pi((__m64 *)dst, pair);
        } else {
            if (r) pair = _mm_add_ps(pair, _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(r + at[l] + i * w)));
            _mm_storel_pi((__m64 *)dst, pair);
        }
    }
}

// F(4×4): four floats a tile.
AVX2 static inline void store_row4(const __m256 *y, int i, float *out, const float *r, const ptrdiff_t at[8],
                                   ptrdiff_t w, int n) {
    __m256 rows[4];  // [tile j's row i | tile j + 4's]
    transpose_4x8(y[0], y[1], y[2], y[3], rows);
    for (int l = 0; l < n; l++) {
        __m128 v = l < 4 ? _mm256_castps256_ps128(rows[l]) : _mm256_extractf128_ps(rows[l - 4], 1);
        if (r) v = _mm_add_ps(v, _mm_loadu_ps(r + at[l] + i * w));
        _mm_storeu_ps(out + at[l] + i * w, v);
    }
}

// Y = Aᵀ M A + bias (+ R) of 8 tiles, F(m×m) with s = m + 2: lane L of m + k·plane is tile L's
// M_k; y + at[L] its output's top-left (row stride w), r + at[L] the residual's (r may be NULL).
// Lanes [0, n) only. Aᵀ over the rows of M for each of its s columns, then for each output row A
// over the columns, the bias, and the store. `transform` (at4_avx2, at6_avx2), `store`, s and m
// are constants: inlined into each algorithm's own copy, as if written out twice.
AVX2 static inline __attribute__((always_inline)) void output8(const float *m, ptrdiff_t plane, float bias, float *y,
                                                               const float *r, const ptrdiff_t at[8], ptrdiff_t w,
                                                               int n, int s, int mm,
                                                               void (*transform)(const __m256 *, __m256 *),
                                                               store_row_fn store) {
    const __m256i mask = lane_mask(n);
    __m256 t[6 * 4];  // t[b·m + i] = (Aᵀ M)[i][b]
    for (int b = 0; b < s; b++) {
        __m256 c[6];
        for (int a = 0; a < s; a++) c[a] = load8(m + (s * a + b) * plane, n, mask);
        transform(c, t + b * mm);
    }
    const __m256 bv = _mm256_set1_ps(bias);
    for (int i = 0; i < mm; i++) {
        // A over the columns, then the bias
        __m256 row[6], o[4];
        for (int b = 0; b < s; b++) row[b] = t[b * mm + i];
        transform(row, o);
        for (int j = 0; j < mm; j++) o[j] = _mm256_add_ps(o[j], bv);
        store(o, i, y, r, at, w, n);
    }
}

// F(2×2), Aᵀ = [1 1 1 0; 0 1 −1 −1], as output8.
AVX2 void wg2_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r, const ptrdiff_t at[8],
                      ptrdiff_t w, int n) {
    output8(m, plane, bias, y, r, at, w, n, 4, 2, at4_avx2, store_row2);
}

// F(4×4): 36 planes, 4×4 output tiles.
AVX2 void wg4_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r, const ptrdiff_t at[8],
                      ptrdiff_t w, int n) {
    output8(m, plane, bias, y, r, at, w, n, 6, 4, at6_avx2, store_row4);
}

// Output channels [o_begin, o_end), tile rows [tile_row0, tile_row0 + tile_rows) (lanes col0 +
// r·tw + q of each plane row), as wg_output_fn. A group of 8 tiles with one hanging over the
// map's last row or column is written whole into `edge` (8 tiles of m × m, row stride m) and
// only its part inside the map copied out, the residual added there (such maps ran the
// row-wise portable code before).
AVX2 void wg_output_avx2(const wg_variant *v, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                         ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                         ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    const ptrdiff_t tile = v->tile, tw = (w + tile - 1) / tile, plane = cout * ldm, lanes = tile_rows * tw;
    const wg_output8_fn output8 = v->output8;
    const int edges = h % tile != 0 || w % tile != 0;  // no tile overhangs the maps of a UNet
    float edge[8 * 4 * 4];
    const ptrdiff_t edge_at[8] = {0, tile * tile, 2 * tile * tile, 3 * tile * tile, 4 * tile * tile, 5 * tile * tile,
                                  6 * tile * tile, 7 * tile * tile};
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        const float *src = m + oc * ldm + col0;
        float *yo = y + oc * h * w;
        const float *ro = res ? res + oc * h * w : NULL;
        for (ptrdiff_t g = 0; g < lanes; g += 8) {
            const int n = lanes - g < 8 ? (int)(lanes - g) : 8;
            ptrdiff_t at[8], ty[8], tx[8];  // each tile's top-left in its channel, its row and column
            int whole = 1;
            for (int i = 0; i < 8; i++) {
                const ptrdiff_t l = g + (i < n ? i : 0);
                ty[i] = tile * (tile_row0 + l / tw);
                tx[i] = tile * (l % tw);
                at[i] = ty[i] * w + tx[i];
                if (edges) whole &= ty[i] + tile <= h && tx[i] + tile <= w;
            }
            if (whole) {
                output8(src + g, plane, b, yo, ro, at, w, n);
                continue;
            }
            output8(src + g, plane, b, edge, NULL, edge_at, tile, n);
            for (int i = 0; i < n; i++) {
                const ptrdiff_t rows = h - ty[i] < tile ? h - ty[i] : tile, cols = w - tx[i] < tile ? w - tx[i] : tile;
                for (ptrdiff_t yy = 0; yy < rows; yy++)
                    for (ptrdiff_t xx = 0; xx < cols; xx++) {
                        const ptrdiff_t o = at[i] + yy * w + xx;
                        yo[o] = edge[edge_at[i] + yy * tile + xx] + (ro ? ro[o] : 0.0f);
                    }
            }
        }
    }
}
#endif  // WG_AVX2
