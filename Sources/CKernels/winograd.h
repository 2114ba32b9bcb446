// Private to the Winograd convolution (winograd_*.c): the table of the two algorithms, the
// entry points of their transforms, and the settings read from the environment.
//
//   winograd_transforms_portable.c  row-wise C transforms of F(2×2) and F(4×4) (any CPU)
//   winograd_transforms_avx2.c      the same, 8 tiles at a time in AVX2 registers (x86-64)
//   winograd_transforms_avx512.c    the same, 16 tiles at a time in AVX-512 registers (x86-64)
//   winograd_gemm.c                 the portable and AVX2 GEMM kernels, the weights' transform and packing
//   microkernel_avx512.c            the AVX-512 GEMM kernel (24 × 16)
//   winograd_paths.c                the table, the settings, and each kernel path's transforms
//   winograd_driver.c               whole convolutions on the pool
#ifndef DDIM_WINOGRAD_H
#define DDIM_WINOGRAD_H

#include "ckernels.h"
#include "clones.h"
#include "microkernel.h"

#include <stddef.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define WG_AVX2 1
#define WG_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define WG_AVX2 0
#endif

enum { MR = DDIM_WG_MR, NR = DDIM_WG_NR };

static inline ptrdiff_t wg_round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

// Row stride of the AVX2 transforms' zero-bordered block of input rows: m·⌈w/m⌉ + 2 columns
// are read, and the last 4-float load of an F(4×4) window starts at column m·(tw − 1) + 4.
static inline ptrdiff_t wg_pad_width(ptrdiff_t m, ptrdiff_t tw) { return m * tw + 4; }

// The prologue of one input channel of one image: x' = x·scale + shift, then SiLU (`on` 0: x).
typedef struct {
    float scale, shift;
    int on, silu;
} channel_act;

// The input transform of one tile row of one channel xc (h × w), row-wise: out[k] receives the
// ⌈w/m⌉ tiles' plane k; scratch as the variant's row_scratch says.
typedef void (*wg_input_row_fn)(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                                float *const out[]);
// The output transform, row-wise: from the planes m[(k·cout + o)·ldm + col] (col = col0 + tile
// row · ⌈w/m⌉ + tile column), y[o][m·tr + i][m·tc + j] = (Aᵀ M A)[i][j] + bias[o]
// (+ res[o][m·tr + i][m·tc + j]) for o in [o_begin, o_end) and tile rows [tile_row0,
// tile_row0 + tile_rows); y and res (either of bias and res may be NULL) are (cout, h, w).
typedef void (*wg_output_fn)(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                             ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h, ptrdiff_t w,
                             ptrdiff_t tile_row0, ptrdiff_t tile_rows);
// V = Bᵀ d B of 8 tiles: p[L] is the top-left of tile L's window (row stride pw); lanes [0, n)
// of out[(m + 2)·a + b] + at receive V[a][b].
typedef void (*wg_input8_fn)(const float *const p[8], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n);
// Y = Aᵀ M A + bias (+ R) of 8 tiles: lane L of m + k·plane is tile L's M_k; y + at[L] its
// output's top-left (row stride w), r + at[L] the residual's (r may be NULL). Lanes [0, n) only.
typedef void (*wg_output8_fn)(const float *m, ptrdiff_t plane, float bias, float *y, const float *r,
                              const ptrdiff_t at[8], ptrdiff_t w, int n);

// A left inverse G⁺ (3 × (m + 2)) of an algorithm's G, by its nonzeros: row a has count[a] of
// them, value[a][i] in column column[a][i], columns ascending.
typedef struct {
    int count[3];
    int column[3][2];
    float value[3][2];
} wg_left_inverse;

// One algorithm F(m×m, 3×3): its sizes and its transforms. An input tile is (m + 2) × (m + 2),
// and planes are indexed k = (m + 2)·row + column of its transform. Code that serves both
// algorithms reads them from here (wg_variant_of) instead of testing the tile size.
typedef struct {
    ptrdiff_t tile;    // m: outputs per tile side
    ptrdiff_t planes;  // (m + 2)²
    ptrdiff_t (*row_scratch)(ptrdiff_t tw);  // floats of scratch input_row needs
    wg_input_row_fn input_row;
    wg_output_fn output;
    // The weights' transform U = G g Gᵀ of one block of 6 output channels, packed: a
    // ddim_parallel_for body over ddim_winograd_pack_weights' job (winograd_gemm.c)
    ddim_task_fn pack_block;
    // G⁺, a left inverse of G, for the way back to g (ddim_winograd_unpack_weights)
    const wg_left_inverse *left_inverse;
#if WG_AVX2
    wg_input8_fn input8;
    wg_output8_fn output8;
#endif
} wg_variant;

// The largest number of planes of either algorithm (F(4×4)'s 6 × 6).
enum { WG_MAX_PLANES = 36 };

// F(4×4, 3×3) for tile 4, else F(2×2, 3×3).
const wg_variant *wg_variant_of(int tile);

// The environment, read once: DDIM_WINOGRAD_UNFUSED (the three loops instead of the fused
// path). Which kernels run (DDIM_KERNELS, DDIM_GENERIC_KERNEL) is dispatch.c's.
typedef struct {
    int unfused;
} wg_settings;
const wg_settings *wg_settings_get(void);

// winograd_transforms_portable.c
ptrdiff_t wg2_row_scratch(ptrdiff_t tw);
ptrdiff_t wg4_row_scratch(ptrdiff_t tw);
DDIM_CLONES void wg2_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                               float *const out[]);
DDIM_CLONES void wg4_input_row(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row, float *scratch,
                               float *const out[]);
DDIM_CLONES void wg2_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                            ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h, ptrdiff_t w,
                            ptrdiff_t tile_row0, ptrdiff_t tile_rows);
DDIM_CLONES void wg4_output(const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin, ptrdiff_t o_end,
                            ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h, ptrdiff_t w,
                            ptrdiff_t tile_row0, ptrdiff_t tile_rows);

#if WG_AVX2
// winograd_transforms_avx2.c
WG_TARGET_AVX2 void wg2_input8(const float *const p[8], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n);
WG_TARGET_AVX2 void wg4_input8(const float *const p[8], ptrdiff_t pw, float *const out[], ptrdiff_t at, int n);
WG_TARGET_AVX2 void wg2_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r,
                                const ptrdiff_t at[8], ptrdiff_t w, int n);
WG_TARGET_AVX2 void wg4_output8(const float *m, ptrdiff_t plane, float bias, float *y, const float *r,
                                const ptrdiff_t at[8], ptrdiff_t w, int n);
// Tile rows [tile_row0, tile_row0 + tile_rows) of act(channel xc): tile (r, q) to lane
// l = r·tw + q of every out[k], at out[k] + l + ⌊l/16⌋·panel_jump (0: contiguous lanes; else
// panels of 16 lanes that far apart, tw a multiple of 8).
WG_TARGET_AVX2 void wg_input_rows_avx2(const wg_variant *v, const float *xc, ptrdiff_t h, ptrdiff_t w,
                                       ptrdiff_t tile_row0, ptrdiff_t tile_rows, const channel_act *act,
                                       float *scratch, float *const out[], ptrdiff_t panel_jump);
// Output channels [o_begin, o_end), tile rows [tile_row0, tile_row0 + tile_rows), as
// wg_output_fn (the last tile row and column may hang over the map's edge).
WG_TARGET_AVX2 void wg_output_avx2(const wg_variant *v, const float *m, ptrdiff_t ldm, ptrdiff_t cout,
                                   ptrdiff_t o_begin, ptrdiff_t o_end, ptrdiff_t col0, const float *bias,
                                   const float *res, float *y, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                   ptrdiff_t tile_rows);
#endif

#if DDIM_HAVE_AVX512
// winograd_transforms_avx512.c: wg_input_rows_avx2 and wg_output_avx2 16 tiles at a time.
DDIM_TARGET_AVX512 void wg_output_avx512(const wg_variant *v, const float *m, ptrdiff_t ldm, ptrdiff_t cout,
                                         ptrdiff_t o_begin, ptrdiff_t o_end, ptrdiff_t col0, const float *bias,
                                         const float *res, float *y, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                                         ptrdiff_t tile_rows);
DDIM_TARGET_AVX512 void wg_input_rows_avx512(const wg_variant *v, const float *xc, ptrdiff_t h, ptrdiff_t w,
                                             ptrdiff_t tile_row0, ptrdiff_t tile_rows, const channel_act *act,
                                             float *scratch, float *const out[]);
#endif

// winograd_gemm.c: each algorithm's packing of the weights and its G⁺, for the table.
void wg2_pack_block(void *job, ptrdiff_t block);
void wg4_pack_block(void *job, ptrdiff_t block);
extern const wg_left_inverse wg2_left_inverse, wg4_left_inverse;

// winograd_paths.c: either algorithm's transforms in the implementation of `path` (DDIM_KERNELS_…,
// one the CPU supports), for winograd_driver.c.

// Floats of scratch one call of wg_input_rows needs for `rows` tile rows of ⌈w/m⌉ tiles.
ptrdiff_t wg_input_scratch_count(const wg_variant *v, ptrdiff_t tw, ptrdiff_t rows);
// Tile rows [tile_row0, tile_row0 + tile_rows) of act(channel xc): tile (r, q) to lane
// l = r·⌈w/m⌉ + q of every out[k], at out[k] + l + ⌊l/16⌋·panel_jump (0: contiguous lanes; else
// only where wg_panels_in_place says so). `activated` (h × w floats, from wg_activation_buffer)
// is where the portable code puts the activated rows it reads; the AVX2 and AVX-512 code
// activate them as they copy.
void wg_input_rows(const wg_variant *v, int path, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                   ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *activated, float *const out[],
                   ptrdiff_t panel_jump);
// Whether a tile row of ⌈w/m⌉ = tw tiles may be transformed straight into its panels of 16.
int wg_panels_in_place(int path, ptrdiff_t tw);
// A task's buffer for wg_input_rows' activated rows: h × w floats where the portable transforms
// will apply a prologue, else NULL (free() it after the task).
float *wg_activation_buffer(const ddim_conv_prologue *pro, int path, ptrdiff_t h, ptrdiff_t w);
// Output tiles of one image, as wg_output_fn: bias (per output channel) and res (that image's
// residual, y's shape) may be NULL.
void wg_output_tiles(const wg_variant *v, int path, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                     ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                     ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows);

// The prologue of input channel c of an image.
static inline channel_act wg_prologue_of(const ddim_conv_prologue *pro, ptrdiff_t cin, ptrdiff_t image, ptrdiff_t c) {
    if (!pro->scale) return (channel_act){1.0f, 0.0f, 0, 0};
    return (channel_act){pro->scale[image * cin + c], pro->shift[image * cin + c], 1, pro->silu};
}

// The bias of an image's output channels, and its residual (`per_image` floats an image).
static inline const float *wg_epilogue_bias(const ddim_conv_epilogue *ep, ptrdiff_t image) {
    return ep->bias ? ep->bias + image * ep->bias_stride : NULL;
}
static inline const float *wg_epilogue_residual(const ddim_conv_epilogue *ep, ptrdiff_t image, ptrdiff_t per_image) {
    return ep->residual ? ep->residual + image * per_image : NULL;
}

#endif
