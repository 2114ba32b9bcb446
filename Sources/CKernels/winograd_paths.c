// The table of the two Winograd algorithms, the settings read from the environment, and each
// algorithm's transforms in the implementation of a kernel path (portable, AVX2, AVX-512): what
// the whole convolutions of winograd_driver.c call, whichever path and algorithm they run.

#include "winograd.h"

#include <pthread.h>
#include <stdlib.h>

// ---------------------------------------------------------------------------------------------
// The two algorithms (winograd.h).

#if WG_AVX2
#define WG_AVX2_TRANSFORMS(m) .input8 = wg##m##_input8, .output8 = wg##m##_output8,
#else
#define WG_AVX2_TRANSFORMS(m)
#endif
// F(m×m, 3×3) from the functions and tables named wg<m>_…
#define WG_VARIANT(m)                                                                                  \
    {                                                                                                  \
        .tile = (m), .planes = ((m) + 2) * ((m) + 2), .row_scratch = wg##m##_row_scratch,              \
        .input_row = wg##m##_input_row, .output = wg##m##_output,                                      \
        .pack_block = wg##m##_pack_block, .left_inverse = &wg##m##_left_inverse,                       \
        WG_AVX2_TRANSFORMS(m)                                                                          \
    }
static const wg_variant f2x2 = WG_VARIANT(2), f4x4 = WG_VARIANT(4);
#undef WG_VARIANT
#undef WG_AVX2_TRANSFORMS

const wg_variant *wg_variant_of(int tile) { return tile == 4 ? &f4x4 : &f2x2; }

static wg_settings settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static void settings_read(void) {
    settings.unfused = getenv("DDIM_WINOGRAD_UNFUSED") != NULL;
}

const wg_settings *wg_settings_get(void) {
    pthread_once(&settings_once, settings_read);
    return &settings;
}

// ---------------------------------------------------------------------------------------------
// The transforms of either algorithm, through its table, in the implementation of `path`
// (DDIM_KERNELS_…, one the CPU supports).

// Floats of scratch one call of wg_input_rows needs for `rows` tile rows of ⌈w/m⌉ tiles.
ptrdiff_t wg_input_scratch_count(const wg_variant *v, ptrdiff_t tw, ptrdiff_t rows) {
    const ptrdiff_t m = v->tile;
    const ptrdiff_t rowwise = v->row_scratch(tw);
    const ptrdiff_t padded = (m * rows + 2) * wg_pad_width(m, tw);
    return rowwise > padded ? rowwise : padded;
}

// Tile rows [tile_row0, tile_row0 + tile_rows) of act(channel xc): tile (r, q) to lane
// l = r·⌈w/m⌉ + q of every out[k], at out[k] + l + ⌊l/16⌋·panel_jump (0: contiguous lanes; else
// only where wg_panels_in_place says so). `activated` (h × w floats, from wg_activation_buffer)
// is where the portable code puts the activated rows it reads; the AVX2 and AVX-512 code
// activate them as they copy.
void wg_input_rows(const wg_variant *v, int path, const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t tile_row0,
                   ptrdiff_t tile_rows, const channel_act *act, float *scratch, float *activated,
                   float *const out[], ptrdiff_t panel_jump) {
#if DDIM_HAVE_AVX512
    if (path >= DDIM_KERNELS_AVX512) {
        wg_input_rows_avx512(v, xc, h, w, tile_row0, tile_rows, act, scratch, out);
        return;
    }
#endif
#if WG_AVX2
    if (path >= DDIM_KERNELS_AVX2) {
        wg_input_rows_avx2(v, xc, h, w, tile_row0, tile_rows, act, scratch, out, panel_jump);
        return;
    }
#endif
    (void)path;
    (void)panel_jump;
    // the row-wise code reads the channel itself: with a prologue, the rows it reads (tile rows
    // r cover input rows m·r − 1 … m·r + m) activated into a copy of the channel first
    const ptrdiff_t m = v->tile;
    if (act->on) {
        ptrdiff_t y0 = m * tile_row0 - 1, y1 = m * (tile_row0 + tile_rows) + 1;
        if (y0 < 0) y0 = 0;
        if (y1 > h) y1 = h;
        if (y1 > y0) ddim_affine(xc + y0 * w, act->scale, act->shift, act->silu, activated + y0 * w, (y1 - y0) * w);
        xc = activated;
    }
    const ptrdiff_t tw = (w + m - 1) / m;
    for (ptrdiff_t r = 0; r < tile_rows; r++) {
        float *row_out[WG_MAX_PLANES];
        for (ptrdiff_t k = 0; k < v->planes; k++) row_out[k] = out[k] + r * tw;
        v->input_row(xc, h, w, tile_row0 + r, scratch, row_out);
    }
}

// Whether the driver's input task may transform a tile row straight into its panels
// (wg_input_rows' panel_jump): on the AVX2 path, for rows of whole panels (⌈w/m⌉ a multiple of 16: maps
// of 128 px and more at F(4×4)). Elsewhere a row wider than a panel goes through a row buffer
// and one more copy of V: a 128×128 layer (256 → 128 channels) took 12–15 % longer so (Zen 3).
// (The AVX-512 transforms keep the row buffer: not measured on an AVX-512 machine yet.)
int wg_panels_in_place(int path, ptrdiff_t tw) {
    return path == DDIM_KERNELS_AVX2 && tw % NR == 0;
}

// A task's buffer for wg_input_rows' activated rows: h × w floats where the portable transforms
// will apply a prologue, else NULL (free() it after the task).
float *wg_activation_buffer(const ddim_conv_prologue *pro, int path, ptrdiff_t h, ptrdiff_t w) {
    if (!pro->scale || (WG_AVX2 && path >= DDIM_KERNELS_AVX2)) return NULL;
    float *b = malloc(sizeof(float) * (size_t)(h * w));
    if (!b) abort();
    return b;
}

// Output tiles of one image: bias (per output channel) and res (that image's residual, y's
// shape) may be NULL.
void wg_output_tiles(const wg_variant *v, int path, const float *m, ptrdiff_t ldm, ptrdiff_t cout, ptrdiff_t o_begin,
                     ptrdiff_t o_end, ptrdiff_t col0, const float *bias, const float *res, float *y, ptrdiff_t h,
                     ptrdiff_t w, ptrdiff_t tile_row0, ptrdiff_t tile_rows) {
#if DDIM_HAVE_AVX512
    if (path >= DDIM_KERNELS_AVX512 && h % v->tile == 0 && w % v->tile == 0) {
        wg_output_avx512(v, m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
        return;
    }
#endif
#if WG_AVX2
    if (path >= DDIM_KERNELS_AVX2) {
        wg_output_avx2(v, m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
        return;
    }
#endif
    (void)path;
    v->output(m, ldm, cout, o_begin, o_end, col0, bias, res, y, h, w, tile_row0, tile_rows);
}
