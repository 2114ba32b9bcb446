// Whole Winograd convolutions, F(2×2, 3×3) and F(4×4, 3×3), in packed layouts on ddim's thread
// pool (ddim_winograd_conv): the input tiles transformed to V_k = (Bᵀ d B)_k, the products
// M_k = U_k · V_k by the GEMM kernel of the path dispatch.c picked (6 × 16 portable or AVX2 in
// winograd_gemm.c, 24 × 16 AVX-512 in microkernel_avx512.c), and M folded back into output tiles
// (Aᵀ M A) with the epilogue — in one task per panel of 16 tiles (the fused path) or in three
// parallel loops over chunks of tiles, one of them covering all planes × panels (at batch 1 each
// plane's GEMM is only 64–256 tiles wide, too small for OpenBLAS to split across threads). The
// table of the algorithms and each path's transforms are winograd_paths.c's.

#include "winograd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
    ptrdiff_t u_lda;  // floats' worth from one block of U to the next: cin·6, or 6·⌈cin/2⌉ in bf16
    const wg_variant *wg;  // F(2×2, 3×3) or F(4×4, 3×3)
    micro_kernel kernel;
    int path;  // DDIM_KERNELS_…: the transforms' and the kernel's
} conv_job;

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
    const int whole_rows = NR % j->tw == 0, in_place = !whole_rows && wg_panels_in_place(j->path, j->tw);
    const ptrdiff_t rows_per_call = whole_rows ? NR / j->tw : 1;
    // the transform's scratch, then a row buffer
    const ptrdiff_t own = wg_input_scratch_count(j->wg, j->tw, rows_per_call);
    float *scratch = malloc(sizeof(float) * (size_t)(own + j->wg->planes * j->tw));
    if (!scratch) abort();
    float *rowbuf = scratch + own;
    float *activated = wg_activation_buffer(&j->pro, j->path, j->h, j->w);
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
                float *base = j->v + (t0 / NR) * j->wg->planes * plane + c * NR + lane0;
                float *out[WG_MAX_PLANES];
                const int direct = whole_rows || in_place;
                for (int k = 0; k < j->wg->planes; k++) out[k] = direct ? base + k * plane : rowbuf + k * j->tw;
                const channel_act act = wg_prologue_of(&j->pro, j->cin, j->image0 + i, c);
                // in place: lanes 16 apart a panel, a panel being all planes' (cin × 16) one after another
                wg_input_rows(j->wg, j->path, xi + c * j->h * j->w, j->h, j->w, j->row0 + tr, rows, &act, scratch,
                              activated, out, in_place ? j->wg->planes * plane - NR : 0);
                if (direct) continue;
                for (ptrdiff_t k = 0; k < j->wg->planes; k++) {
                    float *vk = j->v + k * plane + c * NR;
                    for (ptrdiff_t t = t0, s = 0; s < j->tw;) {
                        const ptrdiff_t lane = t % NR, n = NR - lane < j->tw - s ? NR - lane : j->tw - s;
                        memcpy(vk + (t / NR) * j->wg->planes * plane + lane, out[k] + s, sizeof(float) * (size_t)n);
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
        for (ptrdiff_t k = 0; k < j->wg->planes; k++)
            for (ptrdiff_t c = c0; c < c1; c++) {
                float *last = j->v + ((j->panels - 1) * j->wg->planes + k) * plane + c * NR;
                for (ptrdiff_t lane = j->tiles % NR; lane < NR; lane++) last[lane] = 0.0f;
            }
    free(activated);
    free(scratch);
}

// GEMM task: plane k, panel p: M_k[:, 16p…16p+15] = U_k · V_k[:, panel p], all blocks of 6
// rows in one call of the kernel.
static void gemm_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t k = part / j->panels, p = part % j->panels;
    const float *b = j->v + (p * j->wg->planes + k) * j->cin * NR;
    float *mk = j->m + k * j->cout_pad * j->tiles_pad + p * NR;
    j->kernel(j->blocks, j->cin, j->u + k * j->blocks * j->u_lda, j->u_lda, b, mk, j->tiles_pad);
}

// Output task: output channels [o0, o1) of every image of the chunk, bias added.
static void output_part(void *ctx, ptrdiff_t part) {
    const conv_job *j = ctx;
    const ptrdiff_t o0 = part * j->channel_step, o1 = o0 + j->channel_step < j->cout ? o0 + j->channel_step : j->cout;
    const ptrdiff_t run = j->rows * j->tw;
    for (ptrdiff_t i = 0; i < j->images; i++)
        wg_output_tiles(j->wg, j->path, j->m, j->tiles_pad, j->cout_pad, o0, o1, i * run,
                        wg_epilogue_bias(&j->ep, j->image0 + i),
                        wg_epilogue_residual(&j->ep, j->image0 + i, j->cout * j->h * j->w),
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
    ptrdiff_t cin, cout, cout_pad, h, w, tw;
    const wg_variant *wg;  // F(2×2, 3×3) or F(4×4, 3×3)
    ptrdiff_t blocks, panels_per_image, rows_per_panel, u_lda;
    micro_kernel kernel;
    int path;  // DDIM_KERNELS_…: the transforms' and the kernel's
} fused_job;

static void fused_part(void *ctx, ptrdiff_t p) {
    const fused_job *j = ctx;
    const ptrdiff_t image = p / j->panels_per_image, tr0 = (p % j->panels_per_image) * j->rows_per_panel;
    const ptrdiff_t own = wg_input_scratch_count(j->wg, j->tw, j->rows_per_panel);
    float *v = thread_scratch((size_t)(j->wg->planes * (j->cin + j->cout_pad) * NR + own));
    float *m = v + j->wg->planes * j->cin * NR, *scratch = m + j->wg->planes * j->cout_pad * NR;
    const float *xi = j->x + image * j->cin * j->h * j->w;
    float *activated = wg_activation_buffer(&j->pro, j->path, j->h, j->w);
    // V_k (cin × 16) of this panel: tile row r of the panel in lanes r·tw…
    for (ptrdiff_t c = 0; c < j->cin; c++) {
        float *out[WG_MAX_PLANES];
        for (int k = 0; k < j->wg->planes; k++) out[k] = v + (k * j->cin + c) * NR;
        const channel_act act = wg_prologue_of(&j->pro, j->cin, image, c);
        wg_input_rows(j->wg, j->path, xi + c * j->h * j->w, j->h, j->w, tr0, j->rows_per_panel, &act, scratch,
                      activated, out, 0);
    }
    free(activated);
    // M_k (cout × 16) = U_k · V_k
    for (ptrdiff_t k = 0; k < j->wg->planes; k++)
        j->kernel(j->blocks, j->cin, j->u + k * j->blocks * j->u_lda, j->u_lda, v + k * j->cin * NR,
                  m + k * j->cout_pad * NR, NR);
    wg_output_tiles(j->wg, j->path, m, NR, j->cout_pad, 0, j->cout, 0, wg_epilogue_bias(&j->ep, image),
                    wg_epilogue_residual(&j->ep, image, j->cout * j->h * j->w), j->y + image * j->cout * j->h * j->w,
                    j->h, j->w, tr0, j->rows_per_panel);
}

static ptrdiff_t steps_for(ptrdiff_t channels, int threads) {
    // several parts per thread, so that a thread held up elsewhere does not hold the loop
    const ptrdiff_t parts = 4 * (ptrdiff_t)threads;
    const ptrdiff_t step = (channels + parts - 1) / parts;
    return step < 1 ? 1 : step;
}

static int winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                         int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y,
                         int path, int bf16);

int ddim_winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                       int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y) {
    return winograd_conv(x, batch, cin, h, w, packed_u, tile, cout, pro, ep, y, ddim_kernel_path(), 0);
}

int ddim_winograd_conv_bf16(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *bf16_u,
                            int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y) {
    if (!ddim_bf16_supported()) return -2;
    return winograd_conv(x, batch, cin, h, w, bf16_u, tile, cout, pro, ep, y, DDIM_KERNELS_AVX512, 1);
}

int ddim_winograd_conv_on(int path, const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w,
                          const float *packed_u, int tile, ptrdiff_t cout, const ddim_conv_prologue *pro,
                          const ddim_conv_epilogue *ep, float *y) {
    return winograd_conv(x, batch, cin, h, w, packed_u, tile, cout, pro, ep, y, ddim_supported_path(path), 0);
}

int ddim_winograd_conv_portable(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w,
                                const float *packed_u, int tile, ptrdiff_t cout, const ddim_conv_prologue *pro,
                                const ddim_conv_epilogue *ep, float *y) {
    return winograd_conv(x, batch, cin, h, w, packed_u, tile, cout, pro, ep, y, DDIM_KERNELS_PORTABLE, 0);
}

static int winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                         int tile, ptrdiff_t cout, const ddim_conv_prologue *prologue, const ddim_conv_epilogue *epilogue,
                         float *y, int path, int bf16) {
    const ddim_conv_prologue pro = prologue ? *prologue : (ddim_conv_prologue){NULL, NULL, 0};
    const ddim_conv_epilogue ep = epilogue ? *epilogue : (ddim_conv_epilogue){NULL, 0, NULL};
    // the transforms of the path, and its kernel or the bf16 one (AVX-512 BF16; U in pairs)
#if DDIM_HAVE_AVX512
    const micro_kernel kernel = bf16 ? ddim_kernel_bf16 : ddim_micro_kernel_for(path);
#else
    const micro_kernel kernel = ddim_micro_kernel_for(path);
#endif
    const ptrdiff_t u_lda = bf16 ? ddim_bf16_pairs(cin) * MR : cin * MR;
    const wg_variant *wg = wg_variant_of(tile);
    const ptrdiff_t planes = wg->planes;
    const ptrdiff_t th = (h + tile - 1) / tile, tw = (w + tile - 1) / tile, per_image = th * tw;
    const ptrdiff_t cout_pad = wg_round_up(cout, MR);
    const int threads = ddim_pool_threads();
    if (NR % tw == 0 && th % (NR / tw) == 0 && batch * per_image / NR >= 2 * threads && !wg_settings_get()->unfused) {
        fused_job f = {x, packed_u, pro, ep, y, cin, cout, cout_pad, h, w, tw, wg, cout_pad / MR,
                       per_image / NR, NR / tw, u_lda, kernel, path};
        ddim_parallel_for(batch * f.panels_per_image, fused_part, &f);
        return 0;
    }
    // scratch per operand ≤ 2 M floats (8 MB) unless one row of tiles needs more
    const ptrdiff_t widest = cin > cout_pad ? cin : cout_pad;
    ptrdiff_t max_tiles = (2 << 20) / (planes * widest);
    if (max_tiles < tw) max_tiles = tw;
    const ptrdiff_t images_per_chunk = per_image <= max_tiles ? (max_tiles / per_image < batch ? max_tiles / per_image : batch) : 1;
    const ptrdiff_t band = per_image <= max_tiles ? th : (max_tiles / tw < 1 ? 1 : max_tiles / tw);
    const ptrdiff_t capacity = wg_round_up(per_image <= max_tiles ? images_per_chunk * per_image : band * tw, NR);
    float *v = alloc_aligned((size_t)(planes * cin * capacity));
    float *m = alloc_aligned((size_t)(planes * cout_pad * capacity));
    if (!v || !m) {
        free_aligned(v);
        free_aligned(m);
        return -1;
    }
    conv_job j = {x, packed_u, pro, ep, y, v, m, cin, cout, cout_pad, h, w, tw};
    j.blocks = cout_pad / MR;
    j.u_lda = u_lda;
    j.wg = wg;
    j.kernel = kernel;
    j.path = path;
    for (ptrdiff_t image = 0; image < batch;) {
        for (ptrdiff_t row0 = 0; row0 < th;) {
            j.image0 = image;
            j.images = per_image <= max_tiles ? (images_per_chunk < batch - image ? images_per_chunk : batch - image) : 1;
            j.row0 = row0;
            j.rows = per_image <= max_tiles ? th : (band < th - row0 ? band : th - row0);
            j.tiles = j.images * j.rows * tw;
            j.tiles_pad = wg_round_up(j.tiles, NR);
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
