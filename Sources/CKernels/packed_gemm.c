// C (M × N) = A · B (+ bias per row) (+ a matrix R) with A packed once (a layer's weights, at
// load) for ddim's register-blocked GEMM kernel, and B (K × N, row stride ldb: an input of a 1×1
// convolution, an im2col matrix, the tokens of an attention layer) packed per call into panels
// of 16 columns — what OpenBLAS's sgemm repacks from the weights on every call, megabytes for
// the 16 columns of a 4×4 map. A batch of such products with one A runs as one parallel loop.
#include "ckernels.h"
#include "microkernel.h"

#include <string.h>

enum { MR = 6, NR = 16 };

ptrdiff_t ddim_gemm_packed_count(ptrdiff_t m, ptrdiff_t k) { return (m + MR - 1) / MR * MR * k; }

// packed[(i·K + p)·6 + r] = a[(6i + r)·K + p]; rows past M are 0.
void ddim_gemm_pack_weights(const float *a, ptrdiff_t m, ptrdiff_t k, float *packed) {
    const ptrdiff_t blocks = (m + MR - 1) / MR;
    for (ptrdiff_t i = 0; i < blocks; i++) {
        float *dst = packed + i * k * MR;
        for (ptrdiff_t p = 0; p < k; p++) {
            for (ptrdiff_t r = 0; r < MR; r++) {
                const ptrdiff_t row = i * MR + r;
                dst[p * MR + r] = row < m ? a[row * k + p] : 0.0f;
            }
        }
    }
}

// a[row·K + p] = packed[(i·K + p)·6 + r], row = 6i + r < M: the inverse of the packing.
void ddim_gemm_unpack_weights(const float *packed, ptrdiff_t m, ptrdiff_t k, float *a) {
    for (ptrdiff_t row = 0; row < m; row++) {
        const float *src = packed + (row / MR) * k * MR + row % MR;
        for (ptrdiff_t p = 0; p < k; p++) a[row * k + p] = src[p * MR];
    }
}

typedef struct {
    micro_kernel kernel;
    const float *a, *b, *bias, *add;
    float *c;
    ptrdiff_t m, n, k, ldb, ldc, ld_add, stride_b, stride_c, stride_add, blocks, panels, groups;
    ptrdiff_t a_block;  // floats' worth from one block of A to the next: k·6, or 6·⌈k/2⌉ in bf16
    int *failed;
} packed_job;

// Task: image `t / (panels · groups)`, panel of 16 columns, row-block group (the blocks shared
// out so that a 16-column GEMM still uses every thread).
static void packed_part(void *ctx, ptrdiff_t task) {
    const packed_job *j = ctx;
    const ptrdiff_t per_image = j->panels * j->groups, image = task / per_image;
    const ptrdiff_t panel = task % per_image / j->groups, group = task % j->groups;
    const ptrdiff_t b0 = j->blocks * group / j->groups, b1 = j->blocks * (group + 1) / j->groups;
    if (b0 >= b1) return;
    const float *b = j->b + image * j->stride_b;
    float *c = j->c + image * j->stride_c;
    const float *add = j->add ? j->add + image * j->stride_add : NULL;
    const ptrdiff_t col = panel * NR, width = j->n - col < NR ? j->n - col : NR;
    // the panel of B: k × 16, columns past N zero
    float *bp = alloc_aligned((size_t)(j->k * NR + MR * NR * 4));
    if (!bp) {
        __atomic_store_n(j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    float *tile = bp + j->k * NR;
    for (ptrdiff_t p = 0; p < j->k; p++) {
        const float *src = b + p * j->ldb + col;
        float *dst = bp + p * NR;
        memcpy(dst, src, sizeof(float) * (size_t)width);
        for (ptrdiff_t l = width; l < NR; l++) dst[l] = 0.0f;
    }
    // up to 4 blocks (24 rows) a call, through a 24 × 16 tile: rows past M and columns past N
    // stay out of C; then C = tile + bias + R (R may be C itself: read before written)
    for (ptrdiff_t blk = b0; blk < b1; blk += 4) {
        const ptrdiff_t nb = b1 - blk < 4 ? b1 - blk : 4;
        j->kernel(nb, j->k, j->a + blk * j->a_block, j->a_block, bp, tile, NR);
        const ptrdiff_t row0 = blk * MR, rows = (row0 + nb * MR > j->m ? j->m : row0 + nb * MR) - row0;
        for (ptrdiff_t r = 0; r < rows; r++) {
            float *dst = c + (row0 + r) * j->ldc + col;
            const float *src = tile + r * NR;
            const float shift = j->bias ? j->bias[row0 + r] : 0.0f;
            if (add) {
                const float *extra = add + (row0 + r) * j->ld_add + col;
                for (ptrdiff_t l = 0; l < width; l++) dst[l] = src[l] + shift + extra[l];
            } else {
                for (ptrdiff_t l = 0; l < width; l++) dst[l] = src[l] + shift;
            }
        }
    }
    free_aligned(bp);
}

static int packed_batch(micro_kernel kernel, ptrdiff_t a_block, const float *packed, ptrdiff_t m, ptrdiff_t k,
                        ptrdiff_t count, const float *b, ptrdiff_t n, ptrdiff_t ldb, ptrdiff_t stride_b, float *c,
                        ptrdiff_t ldc, ptrdiff_t stride_c, const float *bias, const float *add, ptrdiff_t ld_add,
                        ptrdiff_t stride_add) {
    if (count <= 0 || m <= 0 || n <= 0) return 0;
    packed_job j = {kernel, packed, b, bias, add, c, m, n, k, ldb, ldc, ld_add, stride_b, stride_c, stride_add,
                    (m + MR - 1) / MR, (n + NR - 1) / NR, 1, a_block, NULL};
    int failed = 0;
    j.failed = &failed;
    const int threads = ddim_pool_threads();
    // about two tasks a thread: images and panels first, then row groups for GEMMs of few panels
    const ptrdiff_t panels = count * j.panels;
    if (threads > 1 && panels < 2 * threads && (double)m * (double)n * (double)k >= 262144.0) {
        const ptrdiff_t want = (2 * threads + panels - 1) / panels;
        const ptrdiff_t groups = (j.blocks + 3) / 4;
        j.groups = groups < want ? groups : want;
        if (j.groups < 1) j.groups = 1;
    }
    ddim_parallel_for(panels * j.groups, packed_part, &j);
    return failed ? -1 : 0;
}

int ddim_gemm_packed_batch_on(int path, const float *packed, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b,
                              ptrdiff_t n, ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c,
                              const float *bias, const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add) {
    return packed_batch(ddim_micro_kernel_for(ddim_supported_path(path)), k * MR, packed, m, k, count, b, n, ldb, stride_b,
                        c, ldc, stride_c, bias, add, ld_add, stride_add);
}

int ddim_gemm_packed_batch_bf16(const float *bf16, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b, ptrdiff_t n,
                                ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c,
                                const float *bias, const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add) {
#if DDIM_HAVE_AVX512
    if (!ddim_bf16_supported()) return -2;
    return packed_batch(ddim_kernel_bf16, ddim_bf16_pairs(k) * MR, bf16, m, k, count, b, n, ldb, stride_b, c, ldc, stride_c,
                        bias, add, ld_add, stride_add);
#else
    (void)bf16, (void)m, (void)k, (void)count, (void)b, (void)n, (void)ldb, (void)stride_b, (void)c, (void)ldc;
    (void)stride_c, (void)bias, (void)add, (void)ld_add, (void)stride_add;
    return -2;
#endif
}

int ddim_gemm_packed_batch(const float *packed, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b, ptrdiff_t n,
                           ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c, const float *bias,
                           const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add) {
    return ddim_gemm_packed_batch_on(ddim_kernel_path(), packed, m, k, count, b, n, ldb, stride_b, c, ldc, stride_c, bias,
                                     add, ld_add, stride_add);
}

int ddim_gemm_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, const float *b, ptrdiff_t n, ptrdiff_t ldb, float *c,
                     ptrdiff_t ldc, const float *bias) {
    return ddim_gemm_packed_batch_on(ddim_kernel_path(), packed, m, k, 1, b, n, ldb, 0, c, ldc, 0, bias, NULL, 0, 0);
}

int ddim_gemm_packed_on(int path, const float *packed, ptrdiff_t m, ptrdiff_t k, const float *b, ptrdiff_t n, ptrdiff_t ldb,
                        float *c, ptrdiff_t ldc, const float *bias) {
    return ddim_gemm_packed_batch_on(path, packed, m, k, 1, b, n, ldb, 0, c, ldc, 0, bias, NULL, 0, 0);
}
