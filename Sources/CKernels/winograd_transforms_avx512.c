#include "winograd.h"

#include <string.h>
#if DDIM_HAVE_AVX512
#include "avx512_math.h"

#include <immintrin.h>
#endif

// The Winograd transforms in AVX-512 over 16 tiles at a time, one tile a lane (x86-64 only; the
// driver runs them with the AVX-512 GEMM kernel): the AVX2 transforms (winograd_transforms_avx2.c)
// with ZMM registers. The input rows are copied into the zero-bordered block with the prologue
// (x·scale + shift, then SiLU) applied 16 lanes at a time — a 32-px row is two registers, a
// 16-px one one, shorter rows and tails one masked register — and the SiLU's division done by a
// 14-bit reciprocal estimate and one Newton step (VRCP14PS; VDIVPS of a ZMM register takes as
// long per lane as a YMM one). Each 16-tile group's window rows are loaded four columns at a
// time for four tiles ([tile i | i + 4 | i + 8 | i + 12], one 128-bit lane each) and transposed
// within the 128-bit lanes, so that lane L holds tile L's value; Bᵀ runs over the window's rows
// and columns, and the 16 or 36 results go to 16 lanes of their planes. The output transform
// mirrors it. F(4×4) on maps 8 or 4 tiles wide (32 and 16 px, most of the tiles of the models
// this project runs) takes whole tile rows a group instead: window columns gathered by
// VPERMT2PS from plain loads of the block rows, output rows stored whole (input16_4_rows8,
// input16_4_rows4, output16_4_rows). On the AVX2 path the input rows' function (copy, prologue,
// transform) was ~16 % of a digits forward at one thread.

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

// Lanes [0, n) of a group; n < 16 only for the last group of a run of tiles.
static inline __mmask16 lanes16(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// [4 floats at p0 | at p1 | at p2 | at p3], a 128-bit lane each
AVX512 static inline __m512 load_quarters(const float *p0, const float *p1, const float *p2, const float *p3) {
    __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(p0));
    v = _mm512_insertf32x4(v, _mm_loadu_ps(p1), 1);
    v = _mm512_insertf32x4(v, _mm_loadu_ps(p2), 2);
    return _mm512_insertf32x4(v, _mm_loadu_ps(p3), 3);
}

// Rows r_i = [tile i | i + 4 | i + 8 | i + 12] of 4 values each (i = 0…3) ↔ columns c_j with lane
// L = tile L's value j (a 4 × 4 transpose in each 128-bit lane). Its own inverse.
AVX512 static inline void transpose_4x16(__m512 r0, __m512 r1, __m512 r2, __m512 r3, __m512 c[4]) {
    const __m512 t0 = _mm512_unpacklo_ps(r0, r1), t1 = _mm512_unpackhi_ps(r0, r1);
    const __m512 t2 = _mm512_unpacklo_ps(r2, r3), t3 = _mm512_unpackhi_ps(r2, r3);
    c[0] = _mm512_shuffle_ps(t0, t2, 0x44);
    c[1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    c[2] = _mm512_shuffle_ps(t1, t3, 0x44);
    c[3] = _mm512_shuffle_ps(t1, t3, 0xEE);
}

// Values j…j + 3 of the window row at offset `at` of 16 tiles' windows p[L], as 4 lane vectors.
AVX512 static inline void window_columns16(const float *const p[16], ptrdiff_t at, __m512 c[4]) {
    transpose_4x16(load_quarters(p[0] + at, p[4] + at, p[8] + at, p[12] + at),
                   load_quarters(p[1] + at, p[5] + at, p[9] + at, p[13] + at),
                   load_quarters(p[2] + at, p[6] + at, p[10] + at, p[14] + at),
                   load_quarters(p[3] + at, p[7] + at, p[11] + at, p[15] + at), c);
}

// F(2×2): o = Bᵀ d, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
AVX512 static inline void bt4_16(const __m512 d[4], __m512 o[4]) {
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
}

// F(4×4): o = Bᵀ d, Bᵀ as in wg4_bt (winograd_transforms_portable.c).
AVX512 static inline void bt6_16(const __m512 d[6], __m512 o[6]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    // o0 = 4·d0 − 5·d2 + d4
    o[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    // o1 = −4·(d1 + d2) + d3 + d4,  o2 = 4·(d1 − d2) − d3 + d4
    o[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    o[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    // o3 = 2·(d3 − d1) − d2 + d4,  o4 = −2·(d3 − d1) − d2 + d4
    const __m512 e = _mm512_sub_ps(d[4], d[2]), f = _mm512_sub_ps(d[3], d[1]);
    o[3] = _mm512_fmadd_ps(two, f, e);
    o[4] = _mm512_fnmadd_ps(two, f, e);
    // o5 = 4·d1 − 5·d3 + d5
    o[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

// F(2×2): o = Aᵀ m, Aᵀ = [1 1 1 0; 0 1 −1 −1].
AVX512 static inline void at4_16(const __m512 m[4], __m512 o[2]) {
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

// F(4×4): o = Aᵀ m: o0 = m0 + (m1 + m2) + (m3 + m4), o1 = (m1 − m2) + 2·(m3 − m4),
// o2 = (m1 + m2) + 4·(m3 + m4), o3 = (m1 − m2) + 8·(m3 − m4) + m5.
AVX512 static inline void at6_16(const __m512 m[6], __m512 o[4]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    const __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    const __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    o[1] = _mm512_fmadd_ps(two, d34, d12);
    o[2] = _mm512_fmadd_ps(four, s34, s12);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), m[5]);
}

// V = Bᵀ d B of 16 tiles, F(m×m) with s = m + 2 (4 or 6): p[L] is the top-left of tile L's s × s
// window (row stride pw); lanes [0, n) of out[s·a + b] + at receive V[a][b]. Bᵀ over each
// window row's columns, then over the rows of each column. s and `bt` are constants where it
// is inlined (input16_2, input16_4).
AVX512 static inline __attribute__((always_inline)) void input16(const float *const p[16], ptrdiff_t pw,
                                                                float *const out[], ptrdiff_t at, int n, int s,
                                                                void (*bt)(const __m512 *, __m512 *)) {
    const __mmask16 mask = lanes16(n);
    __m512 h[6][6];  // h[r] = the window's row r after Bᵀ over its columns
    for (int r = 0; r < s; r++) {
        __m512 d[8];
        window_columns16(p, r * pw, d);                   // columns 0…3
        if (s == 6) window_columns16(p, r * pw + 4, d + 4);  // columns 4…7 (6 and 7 unused)
        bt(d, h[r]);
    }
    for (int b = 0; b < s; b++) {
        __m512 col[6], v[6];
        for (int r = 0; r < s; r++) col[r] = h[r][b];
        bt(col, v);
        for (int a = 0; a < s; a++) _mm512_mask_storeu_ps(out[s * a + b] + at, mask, v[a]);
    }
}

AVX512 static void input16_2(const float *const p[16], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
    input16(p, pw, out, at, n, 4, bt4_16);
}
AVX512 static void input16_4(const float *const p[16], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
    input16(p, pw, out, at, n, 6, bt6_16);
}

// F(4×4) on maps 8 tiles wide (32 px), where a group of 16 is two whole tile rows: the same as
// input16_4 with each window column gathered by permutes instead of transposes. Tile q of a tile
// row reads columns 4q … 4q + 5 of a block row, so column j of its 8 tiles is block row[4q + j]:
// for j < 4 a VPERMT2PS of row[0, 32), for j = 4, 5 one of row[4, 36) (pw is 36: both inside
// the row); the second tile row, 4 block rows down, fills lanes 8…15. `row` is the group's
// first window row (block row 4·(g / 8)); n is 8 (one tile row) or 16.
AVX512 static void input16_4_rows8(const float *row, ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
    const __mmask16 mask = lanes16(n);
    // idx_j[q] = idx_j[8 + q] = 4q + j
    const __m512i base = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    const __m512i idx[4] = {base, _mm512_add_epi32(base, _mm512_set1_epi32(1)),
                            _mm512_add_epi32(base, _mm512_set1_epi32(2)), _mm512_add_epi32(base, _mm512_set1_epi32(3))};
    const ptrdiff_t second = n > 8 ? 4 * pw : 0;  // the second tile row's block rows (n = 8: the first again)
    __m512 h[6][6];  // h[r] = the window's row r after Bᵀ over its columns
    for (int r = 0; r < 6; r++) {
        const float *a = row + r * pw, *b = a + second;
        const __m512 a0 = _mm512_loadu_ps(a), a1 = _mm512_loadu_ps(a + 16);
        const __m512 a4 = _mm512_loadu_ps(a + 4), a5 = _mm512_loadu_ps(a + 20);
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        const __m512 b4 = _mm512_loadu_ps(b + 4), b5 = _mm512_loadu_ps(b + 20);
        __m512 d[6];
        for (int j = 0; j < 6; j++) {
            // lanes 0…7 from the first tile row, 8…15 from the second
            const __m512 lo = j < 4 ? _mm512_permutex2var_ps(a0, idx[j], a1) : _mm512_permutex2var_ps(a4, idx[j - 4], a5);
            const __m512 hi = j < 4 ? _mm512_permutex2var_ps(b0, idx[j], b1) : _mm512_permutex2var_ps(b4, idx[j - 4], b5);
            d[j] = _mm512_mask_blend_ps((__mmask16)0xFF00, lo, hi);
        }
        bt6_16(d, h[r]);
    }
    for (int b = 0; b < 6; b++) {
        __m512 col[6], v[6];
        for (int r = 0; r < 6; r++) col[r] = h[r][b];
        bt6_16(col, v);
        for (int a = 0; a < 6; a++) _mm512_mask_storeu_ps(out[6 * a + b] + at, mask, v[a]);
    }
}

// The same on maps 4 tiles wide (16 px), where a group of 16 is four whole tile rows (pw is 20):
// column j of a tile row's 4 tiles is block row[4q + j], j < 4 from row[0, 16), j = 4, 5 from
// row[4, 20); one VPERMT2PS gathers two tile rows (lanes 0…7 from rows a and b, 4 block rows
// apart), a second the next two (lanes 8…15), and a blend joins them. n: 4, 8, 12 or 16.
AVX512 static void input16_4_rows4(const float *row, ptrdiff_t pw, float *const out[], ptrdiff_t at, int n) {
    const __mmask16 mask = lanes16(n);
    // idx_j[4k + q] = 4q + j from the first table for k = 0 and 2, 16 + 4q + j from the second for k = 1 and 3
    const __m512i base = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    const __m512i idx[4] = {base, _mm512_add_epi32(base, _mm512_set1_epi32(1)),
                            _mm512_add_epi32(base, _mm512_set1_epi32(2)), _mm512_add_epi32(base, _mm512_set1_epi32(3))};
    // the block rows of tile rows 0…3 of the group (rows past the group: the first again)
    ptrdiff_t down[4];
    for (int k = 0; k < 4; k++) down[k] = 4 * k < n ? 4 * k * pw : 0;
    __m512 h[6][6];  // h[r] = the window's row r after Bᵀ over its columns
    for (int r = 0; r < 6; r++) {
        const float *t[4];
        for (int k = 0; k < 4; k++) t[k] = row + r * pw + down[k];
        const __m512 z0 = _mm512_loadu_ps(t[0]), z1 = _mm512_loadu_ps(t[1]);
        const __m512 z2 = _mm512_loadu_ps(t[2]), z3 = _mm512_loadu_ps(t[3]);
        const __m512 s0 = _mm512_loadu_ps(t[0] + 4), s1 = _mm512_loadu_ps(t[1] + 4);
        const __m512 s2 = _mm512_loadu_ps(t[2] + 4), s3 = _mm512_loadu_ps(t[3] + 4);
        __m512 d[6];
        for (int j = 0; j < 6; j++) {
            // lanes 0…7: tile rows 0 and 1; 8…15: tile rows 2 and 3
            const __m512 lo = j < 4 ? _mm512_permutex2var_ps(z0, idx[j], z1) : _mm512_permutex2var_ps(s0, idx[j - 4], s1);
            const __m512 hi = j < 4 ? _mm512_permutex2var_ps(z2, idx[j], z3) : _mm512_permutex2var_ps(s2, idx[j - 4], s3);
            d[j] = _mm512_mask_blend_ps((__mmask16)0xFF00, lo, hi);
        }
        bt6_16(d, h[r]);
    }
    for (int b = 0; b < 6; b++) {
        __m512 col[6], v[6];
        for (int r = 0; r < 6; r++) col[r] = h[r][b];
        bt6_16(col, v);
        for (int a = 0; a < 6; a++) _mm512_mask_storeu_ps(out[6 * a + b] + at, mask, v[a]);
    }
}

// Y = Aᵀ M A + bias (+ R) of 16 tiles, F(mm×mm) with s = mm + 2: lane L of m + k·plane is tile
// L's M_k; y + at[L] its output's top-left (row stride w), r + at[L] the residual's (r may be
// NULL). Lanes [0, n) only. Aᵀ over the rows of M for each of its s columns, then for each
// output row A over the columns, the bias, a transpose within 128-bit lanes, and mm floats a
// tile stored. s, mm and `transform` are constants where it is inlined (output16_2, output16_4).
AVX512 static inline __attribute__((always_inline)) void output16(const float *m, ptrdiff_t plane, float bias, float *y,
                                                                 const float *r, const ptrdiff_t at[16], ptrdiff_t w,
                                                                 int n, int s, int mm,
                                                                 void (*transform)(const __m512 *, __m512 *)) {
    const __mmask16 mask = lanes16(n);
    __m512 t[6 * 4];  // t[b·mm + i] = (Aᵀ M)[i][b]
    for (int b = 0; b < s; b++) {
        __m512 c[6];
        for (int a = 0; a < s; a++) c[a] = _mm512_maskz_loadu_ps(mask, m + (s * a + b) * plane);
        transform(c, t + b * mm);
    }
    const __m512 bv = _mm512_set1_ps(bias);
    for (int i = 0; i < mm; i++) {
        // A over the columns, then the bias
        __m512 row[6], o[4];
        for (int b = 0; b < s; b++) row[b] = t[b * mm + i];
        transform(row, o);
        for (int j = 0; j < mm; j++) o[j] = _mm512_add_ps(o[j], bv);
        if (mm == 4) {
            // q[k] = [tile k's row i | tile k + 4's | k + 8's | k + 12's]
            __m512 q[4];
            transpose_4x16(o[0], o[1], o[2], o[3], q);
            for (int l = 0; l < n; l++) {
                __m128 v = _mm512_extractf32x4_ps(q[l & 3], 0);
                switch (l >> 2) {  // the lane index of VEXTRACTF32X4 is an immediate
                case 1: v = _mm512_extractf32x4_ps(q[l & 3], 1); break;
                case 2: v = _mm512_extractf32x4_ps(q[l & 3], 2); break;
                case 3: v = _mm512_extractf32x4_ps(q[l & 3], 3); break;
                default: break;
                }
                float *dst = y + at[l] + i * w;
                if (r) v = _mm_add_ps(v, _mm_loadu_ps(r + at[l] + i * w));
                _mm_storeu_ps(dst, v);
            }
        } else {
            // lo: [tile 4q: y0 y1, tile 4q + 1: y0 y1] in lane q, hi: tiles 4q + 2 and 4q + 3
            const __m512 lo = _mm512_unpacklo_ps(o[0], o[1]), hi = _mm512_unpackhi_ps(o[0], o[1]);
            float pairs[32];  // tile l's pair at 2·l
            for (int k = 0; k < 4; k++) {
                const __m128 a = k == 0 ? _mm512_extractf32x4_ps(lo, 0)
                               : k == 1 ? _mm512_extractf32x4_ps(lo, 1)
                               : k == 2 ? _mm512_extractf32x4_ps(lo, 2)
                                        : _mm512_extractf32x4_ps(lo, 3);
                const __m128 b = k == 0 ? _mm512_extractf32x4_ps(hi, 0)
                               : k == 1 ? _mm512_extractf32x4_ps(hi, 1)
                               : k == 2 ? _mm512_extractf32x4_ps(hi, 2)
                                        : _mm512_extractf32x4_ps(hi, 3);
                _mm_storeu_ps(pairs + 8 * k, a);
                _mm_storeu_ps(pairs + 8 * k + 4, b);
            }
            for (int l = 0; l < n; l++) {
                float *dst = y + at[l] + i * w;
                const float *res = r ? r + at[l] + i * w : NULL;
                dst[0] = pairs[2 * l] + (res ? res[0] : 0.0f);
                dst[1] = pairs[2 * l + 1] + (res ? res[1] : 0.0f);
            }
        }
    }
}

AVX512 static void output16_2(const float *m, ptrdiff_t plane, float bias, float *y, const float *r,
                              const ptrdiff_t at[16], ptrdiff_t w, int n) {
    output16(m, plane, bias, y, r, at, w, n, 4, 2, at4_16);
}
AVX512 static void output16_4(const float *m, ptrdiff_t plane, float bias, float *y, const float *r,
                              const ptrdiff_t at[16], ptrdiff_t w, int n) {
    output16(m, plane, bias, y, r, at, w, n, 6, 4, at6_16);
}

// output16_4 on maps 8 tiles wide (32 px), where a group of 16 is two whole tile rows: each
// output row of a tile row is 32 contiguous floats, so after the transpose within 128-bit lanes
// (q[k]'s lane L: tile 4L + k) two shuffles of 128-bit lanes put tiles 0…3 and 4…7 of a tile
// row side by side, stored as two registers (the residual added the same way) instead of 8
// stores of 4 floats. y and r: the group's first output row (r may be NULL); the second tile
// row (lanes 8…15, when n is 16) 4 rows below.
// On maps 4 tiles wide (16 px, tw 4) the same shuffles give whole output rows of tile rows 0…3
// of the group, 16 floats each: `left` and `right` are then tile rows 2·half and 2·half + 1.
AVX512 static void output16_4_rows(const float *m, ptrdiff_t plane, float bias, float *y, const float *r, int n,
                                   ptrdiff_t tw) {
    const ptrdiff_t w = 4 * tw;
    const __mmask16 mask = lanes16(n);
    __m512 t[6 * 4];  // t[b·4 + i] = (Aᵀ M)[i][b]
    for (int b = 0; b < 6; b++) {
        __m512 c[6];
        for (int a = 0; a < 6; a++) c[a] = _mm512_maskz_loadu_ps(mask, m + (6 * a + b) * plane);
        at6_16(c, t + b * 4);
    }
    const __m512 bv = _mm512_set1_ps(bias);
    for (int i = 0; i < 4; i++) {
        // A over the columns, then the bias
        __m512 row[6], o[4], q[4];
        for (int b = 0; b < 6; b++) row[b] = t[b * 4 + i];
        at6_16(row, o);
        for (int j = 0; j < 4; j++) o[j] = _mm512_add_ps(o[j], bv);
        transpose_4x16(o[0], o[1], o[2], o[3], q);
        for (int half = 0; half < (n > 8 ? 2 : 1); half++) {
            // tw 4: tile rows 2·half (left) and 2·half + 1 (right, when n reaches it)
            const int right_valid = tw == 8 || 4 * (2 * half + 1) < n;
            // [q0, q1 | q2, q3] lanes 2·half and 2·half + 1, then tiles 0…3 and 4…7 of the tile row
            const __m512 s01 = half ? _mm512_shuffle_f32x4(q[0], q[1], _MM_SHUFFLE(3, 2, 3, 2))
                                    : _mm512_shuffle_f32x4(q[0], q[1], _MM_SHUFFLE(1, 0, 1, 0));
            const __m512 s23 = half ? _mm512_shuffle_f32x4(q[2], q[3], _MM_SHUFFLE(3, 2, 3, 2))
                                    : _mm512_shuffle_f32x4(q[2], q[3], _MM_SHUFFLE(1, 0, 1, 0));
            __m512 left = _mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(2, 0, 2, 0));
            __m512 right = _mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(3, 1, 3, 1));
            // tw 8: one tile row, its output row i in two halves; tw 4: two tile rows, 4 output rows apart
            const ptrdiff_t at = tw == 8 ? (4 * half + i) * w : (8 * half + i) * w;
            const ptrdiff_t at_right = tw == 8 ? at + 16 : at + 4 * w;
            if (r) {
                left = _mm512_add_ps(left, _mm512_loadu_ps(r + at));
                if (right_valid) right = _mm512_add_ps(right, _mm512_loadu_ps(r + at_right));
            }
            _mm512_storeu_ps(y + at, left);
            if (right_valid) _mm512_storeu_ps(y + at_right, right);
        }
    }
}

// Output channels [o_begin, o_end), tile rows [tile_row0, tile_row0 + tile_rows) (lanes col0 +
// r·tw + q of each plane row), as wg_output_fn; h and w multiples of the tile.
AVX512 void wg_output_avx512(const wg_variant *v, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                             ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                             ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
    const ptrdiff_t tile = v->tile, tw = w / tile, plane = cout * ldm, lanes = tile_rows * tw;
    for (ptrdiff_t oc = o_begin; oc < o_end; oc++) {
        const float b = bias ? bias[oc] : 0.0f;
        const float *src = m + oc * ldm + col0;
        float *yo = y + oc * h * w;
        const float *ro = res ? res + oc * h * w : NULL;
        if (tile == 4 && (tw == 8 || tw == 4)) {  // groups of whole tile rows
            for (ptrdiff_t g = 0; g < lanes; g += 16) {
                const ptrdiff_t first = 4 * (tile_row0 + g / tw) * w;  // the group's first output row
                output16_4_rows(src + g, plane, b, yo + first, ro ? ro + first : NULL, lanes - g < 16 ? (int)(lanes - g) : 16, tw);
            }
            continue;
        }
        for (ptrdiff_t g = 0; g < lanes; g += 16) {
            const int n = lanes - g < 16 ? (int)(lanes - g) : 16;
            ptrdiff_t at[16];  // each tile's top-left in its channel
            for (int i = 0; i < 16; i++) {
                const ptrdiff_t l = g + (i < n ? i : 0);
                at[i] = tile * (tile_row0 + l / tw) * w + tile * (l % tw);
            }
            if (tile == 4) {
                output16_4(src + g, plane, b, yo, ro, at, w, n);
            } else {
                output16_2(src + g, plane, b, yo, ro, at, w, n);
            }
        }
    }
}

// Tile rows [tile_row0, tile_row0 + tile_rows) of channel xc: tile (r, q) to lane r·tw + q of
// every out[k]. scratch: (m·tile_rows + 2)·wg_pad_width floats.
AVX512 void wg_input_rows_avx512(const wg_variant *v, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                 ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *const out[]) {
    const ptrdiff_t m = v->tile, tw = (w + m - 1) / m, pw = wg_pad_width(m, tw);
    pad_window_rows16(xc, h, w, m, tile_row0, tile_rows, pw, act, scratch);
    const ptrdiff_t lanes = tile_rows * tw;
    if (m == 4 && (tw == 8 || tw == 4)) {  // groups of whole tile rows
        for (ptrdiff_t g = 0; g < lanes; g += 16) {
            const int n = lanes - g < 16 ? (int)(lanes - g) : 16;
            if (tw == 8) {
                input16_4_rows8(scratch + 4 * (g / 8) * pw, pw, out, g, n);
            } else {
                input16_4_rows4(scratch + 4 * (g / 4) * pw, pw, out, g, n);
            }
        }
        return;
    }
    for (ptrdiff_t g = 0; g < lanes; g += 16) {
        const int n = lanes - g < 16 ? (int)(lanes - g) : 16;
        const float *p[16];
        for (int i = 0; i < 16; i++) {
            const ptrdiff_t l = g + (i < n ? i : 0);  // lanes past the run repeat the first tile
            p[i] = scratch + m * (l / tw) * pw + m * (l % tw);
        }
        if (m == 4) {
            input16_4(p, pw, out, g, n);
        } else {
            input16_2(p, pw, out, g, n);
        }
    }
}
#endif  // DDIM_HAVE_AVX512
