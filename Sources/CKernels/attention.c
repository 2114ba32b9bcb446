// The core of self-attention, O_h = softmax(Q_h·K_hᵀ / √d)·V_h, on ddim's pool with the GEMM
// kernels of the Winograd convolution (blocks of 6 rows × 16; microkernel.h), computed
// transposed, 16 queries at a time:
//   Sᵀ = K·(Q/√d)ᵀ   (keys × 16 queries: K is the kernel's A operand, packed once per head, and
//                      the 16 queries' Qᵀ its B panel),
//   Pᵀ = softmax of each column of Sᵀ over the keys (each query a vector lane),
//   Oᵀ = Vᵀ·Pᵀ       (dimensions × 16 queries: Vᵀ packed once per head; Pᵀ, n rows of 16
//                      floats, is already a B panel of kc = n),
// and Oᵀ is written where the output projection reads it, y = W_o·Oᵀ. Computed the usual way
// (S = Q·Kᵀ by blocks of 6 queries) each task repacked P into the A operand's layout, one strided
// store per score, and copied O out; here nothing is packed per task but the 16 queries' Qᵀ.
// The projections arrive channel-major, [Qᵀ; Kᵀ; Vᵀ] (3·inner rows of n tokens) as W_qkv·X
// makes them: a Qᵀ panel is 16 contiguous floats a dimension, a block of K 6 a dimension.

#include "ckernels.h"
#include "microkernel.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

enum { MR = DDIM_WG_MR, NR = DDIM_WG_NR };

static ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

typedef struct {
    const float *qkv;  // per image: 3·inner rows of n, [Qᵀ; Kᵀ; Vᵀ]
    float *ot;         // per image: inner rows of n (Oᵀ)
    float *packed;     // per (image, head): K blocks, then Vᵀ blocks
    ptrdiff_t n, d, heads, inner, panels_per_task, tasks_per_head, n6, d6;
    float scale;
    micro_kernel kernel;
    void (*softmax)(float *s, ptrdiff_t n);  // ddim_softmax_columns16, or its AVX-512 version
} attention_job;

static ptrdiff_t packed_per_head(const attention_job *j) { return j->n6 * j->d + j->d6 * j->n; }

// Packing is split PACK_PARTS ways per (image, head) for K and again for V, so that at batch 1
// with one head it is not one thread's work while the others wait.
enum { PACK_PARTS = 4 };

// Task (image, head, part): for part < PACK_PARTS, blocks of 6 keys of
// Kp[block][p][r] = K[6·block + r][p] = Kᵀ[p][6·block + r] (keys past n: 0), the A operand of
// Sᵀ = K·Qᵀ over kc = d; else blocks of 6 dimensions of Vp[block][t][r] = Vᵀ[6·block + r][t]
// (dimensions past d: 0), the A operand of Oᵀ = Vᵀ·Pᵀ over kc = n.
static void pack_keys_values(void *ctx, ptrdiff_t task) {
    const attention_job *j = ctx;
    const ptrdiff_t pair = task / (2 * PACK_PARTS), part = task % (2 * PACK_PARTS), s = part % PACK_PARTS;
    const ptrdiff_t image = pair / j->heads, head = pair % j->heads, n = j->n;
    const float *kt = j->qkv + (image * 3 * j->inner + j->inner + head * j->d) * n, *vt = kt + j->inner * n;
    float *kp = j->packed + pair * packed_per_head(j), *vp = kp + j->n6 * j->d;
    if (part < PACK_PARTS) {
        const ptrdiff_t blocks = j->n6 / MR;
        for (ptrdiff_t b = blocks * s / PACK_PARTS; b < blocks * (s + 1) / PACK_PARTS; b++) {
            const ptrdiff_t key0 = b * MR, valid = n - key0 < MR ? n - key0 : MR;
            float *dst = kp + b * j->d * MR;
            for (ptrdiff_t p = 0; p < j->d; p++) {
                const float *src = kt + p * n + key0;
                for (ptrdiff_t r = 0; r < valid; r++) dst[p * MR + r] = src[r];
                for (ptrdiff_t r = valid; r < MR; r++) dst[p * MR + r] = 0.0f;
            }
        }
        return;
    }
    const ptrdiff_t blocks = j->d6 / MR;
    for (ptrdiff_t b = blocks * s / PACK_PARTS; b < blocks * (s + 1) / PACK_PARTS; b++) {
        const ptrdiff_t c0 = b * MR, valid = j->d - c0 < MR ? j->d - c0 : MR;
        float *dst = vp + b * n * MR;
        for (ptrdiff_t r = 0; r < valid; r++) {
            const float *src = vt + (c0 + r) * n;
            for (ptrdiff_t t = 0; t < n; t++) dst[t * MR + r] = src[t];
        }
        for (ptrdiff_t r = valid; r < MR; r++)
            for (ptrdiff_t t = 0; t < n; t++) dst[t * MR + r] = 0.0f;
    }
}

// Task (image, head, group of query panels): for each panel of 16 queries q0…q0 + 15,
// Qᵀ panel, Sᵀ, the softmax down its columns, Oᵀ into ot (through a 6 × 16 block where the
// panel or the last block of dimensions is partial).
static void attend_panels(void *ctx, ptrdiff_t task) {
    const attention_job *j = ctx;
    const ptrdiff_t pair = task / j->tasks_per_head, first = (task % j->tasks_per_head) * j->panels_per_task;
    const ptrdiff_t image = pair / j->heads, head = pair % j->heads;
    const float *qt = j->qkv + (image * 3 * j->inner + head * j->d) * j->n;
    const float *kp = j->packed + pair * packed_per_head(j), *vp = kp + j->n6 * j->d;
    float *ot = j->ot + (image * j->inner + head * j->d) * j->n;
    float *qp = alloc_aligned((size_t)(j->d * NR + j->n6 * NR + MR * NR));
    if (!qp) abort();
    float *st = qp + j->d * NR, *edge = st + j->n6 * NR;
    const ptrdiff_t panels = (j->n + NR - 1) / NR;
    for (ptrdiff_t panel = first; panel < first + j->panels_per_task && panel < panels; panel++) {
        const ptrdiff_t q0 = panel * NR, queries = j->n - q0 < NR ? j->n - q0 : NR;
        // Qᵀ panel: qp[p][l] = Qᵀ[p][q0 + l] / √d (queries past n: 0)
        for (ptrdiff_t p = 0; p < j->d; p++) {
            const float *src = qt + p * j->n + q0;
            float *dst = qp + p * NR;
            for (ptrdiff_t l = 0; l < queries; l++) dst[l] = src[l] * j->scale;
            for (ptrdiff_t l = queries; l < NR; l++) dst[l] = 0.0f;
        }
        // Sᵀ (n6 × 16) = K·(Q/√d)ᵀ
        j->kernel(j->n6 / MR, j->d, kp, j->d * MR, qp, st, NR);
        // Pᵀ: each column's softmax over the n real keys
        j->softmax(st, j->n);
        // Oᵀ (d6 × 16) = Vᵀ·Pᵀ: the whole blocks of 6 dimensions in one call when the panel is
        // whole, then block by block through `edge`
        ptrdiff_t b = 0;
        if (queries == NR) {
            b = j->d / MR;
            j->kernel(b, j->n, vp, j->n * MR, st, ot + q0, j->n);
        }
        for (; b < j->d6 / MR; b++) {
            const ptrdiff_t c0 = b * MR, dims = j->d - c0 < MR ? j->d - c0 : MR;
            j->kernel(1, j->n, vp + b * j->n * MR, j->n * MR, st, edge, NR);
            for (ptrdiff_t r = 0; r < dims; r++) memcpy(ot + (c0 + r) * j->n + q0, edge + r * NR, sizeof(float) * (size_t)queries);
        }
    }
    free_aligned(qp);
}

static int attention(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows,
                     float *ot, int path) {
    const ptrdiff_t panels = (n + NR - 1) / NR;
    ptrdiff_t per_task = (rows + NR - 1) / NR;
    if (per_task < 1) per_task = 1;
    if (per_task > panels) per_task = panels;
    attention_job j = {qkv, ot, NULL, n, d, heads, heads * d, per_task, (panels + per_task - 1) / per_task,
                       round_up(n, MR), round_up(d, MR), 0.0f, ddim_micro_kernel_for(path), ddim_softmax_columns16};
#if DDIM_HAVE_AVX512
    if (path >= DDIM_KERNELS_AVX512) j.softmax = ddim_softmax_columns16_avx512;
#endif
    // 1/√d
    j.scale = 1.0f / sqrtf((float)d);
    j.packed = alloc_aligned((size_t)(batch * heads * packed_per_head(&j)));
    if (!j.packed) return -1;
    ddim_parallel_for(batch * heads * 2 * PACK_PARTS, pack_keys_values, &j);
    ddim_parallel_for(batch * heads * j.tasks_per_head, attend_panels, &j);
    free_aligned(j.packed);
    return 0;
}

int ddim_attention(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows, float *ot) {
    return attention(qkv, batch, n, heads, d, rows, ot, ddim_kernel_path());
}

int ddim_attention_on(int path, const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d,
                      ptrdiff_t rows, float *ot) {
    return attention(qkv, batch, n, heads, d, rows, ot, ddim_supported_path(path));
}

int ddim_attention_portable(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows,
                            float *ot) {
    return attention(qkv, batch, n, heads, d, rows, ot, DDIM_KERNELS_PORTABLE);
}
