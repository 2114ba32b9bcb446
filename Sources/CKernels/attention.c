// The core of self-attention, O_h = softmax(Q_h·K_hᵀ / √d)·V_h, on ddim's pool with the 6 × 16
// kernel of winograd.c instead of two OpenBLAS calls per block of query rows: K_h and V_h are
// packed once per (image, head) — OpenBLAS packed K_h again for every block — and each task
// packs only its own rows of Q (the scale 1/√d folded in) and of P.

#include "ckernels.h"
#include "microkernel.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

enum { MR = DDIM_WG_MR, NR = DDIM_WG_NR };

static ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

typedef struct {
    const float *qkv;  // per image: n rows of [Q K V], row stride 3·inner
    float *o;          // per image: n rows of O, row stride inner
    float *packed;     // per (image, head): K panels, then V panels
    ptrdiff_t n, d, heads, inner, rows, blocks, n16, d16;
    float scale;
    micro_kernel kernel;
} attention_job;

static ptrdiff_t packed_per_head(const attention_job *j) { return j->n16 * j->d + j->n * j->d16; }

// Packing is split PACK_PARTS ways per (image, head) for K and again for V, so that at batch 1
// with one head it is not one thread's work while the others wait.
enum { PACK_PARTS = 4 };

// Task (image, head, part): for part < PACK_PARTS, keys [n16·s/PACK_PARTS, …) of
// Kp[panel][p][l] = K[16·panel + l][p] (keys past n: 0), the B operand of S = Q·Kᵀ over kc = d;
// else rows t of Vp[panel][t][l] = V[t][16·panel + l] (dimensions past d: 0), the B operand of
// O = P·V over kc = n.
static void pack_keys_values(void *ctx, ptrdiff_t task) {
    const attention_job *j = ctx;
    const ptrdiff_t pair = task / (2 * PACK_PARTS), part = task % (2 * PACK_PARTS), s = part % PACK_PARTS;
    const ptrdiff_t image = pair / j->heads, head = pair % j->heads, width = 3 * j->inner;
    const float *k = j->qkv + image * j->n * width + j->inner + head * j->d, *v = k + j->inner;
    float *kp = j->packed + pair * packed_per_head(j), *vp = kp + j->n16 * j->d;
    if (part < PACK_PARTS) {
        for (ptrdiff_t key = j->n16 * s / PACK_PARTS; key < j->n16 * (s + 1) / PACK_PARTS; key++) {
            float *dst = kp + (key / NR) * j->d * NR + key % NR;
            if (key < j->n) {
                for (ptrdiff_t p = 0; p < j->d; p++) dst[p * NR] = k[key * width + p];
            } else {
                for (ptrdiff_t p = 0; p < j->d; p++) dst[p * NR] = 0.0f;
            }
        }
        return;
    }
    for (ptrdiff_t panel = 0; panel < j->d16 / NR; panel++)
        for (ptrdiff_t t = j->n * s / PACK_PARTS; t < j->n * (s + 1) / PACK_PARTS; t++) {
            float *dst = vp + (panel * j->n + t) * NR;
            const ptrdiff_t c0 = panel * NR, valid = j->d - c0 < NR ? j->d - c0 : NR;
            memcpy(dst, v + t * width + c0, sizeof(float) * (size_t)valid);
            for (ptrdiff_t l = valid; l < NR; l++) dst[l] = 0.0f;
        }
}

// Task (image, head, block of query rows).
static void attend_block(void *ctx, ptrdiff_t task) {
    const attention_job *j = ctx;
    const ptrdiff_t per_image = j->heads * j->blocks;
    const ptrdiff_t image = task / per_image, head = (task % per_image) / j->blocks, block = task % j->blocks;
    const ptrdiff_t width = 3 * j->inner, r0 = block * j->rows;
    const ptrdiff_t rows = j->n - r0 < j->rows ? j->n - r0 : j->rows, rows6 = round_up(rows, MR);
    const float *q = j->qkv + (image * j->n + r0) * width + head * j->d;
    const float *kp = j->packed + (image * j->heads + head) * packed_per_head(j), *vp = kp + j->n16 * j->d;
    float *qp = malloc(sizeof(float) * (size_t)(rows6 * (j->d + j->n16 + j->n + j->d16)));
    if (!qp) abort();
    float *s = qp + rows6 * j->d, *pp = s + rows6 * j->n16, *ot = pp + rows6 * j->n;
    // Qp[block of 6][p][r] = Q[r][p] / √d (rows past the block: 0)
    for (ptrdiff_t r = 0; r < rows6; r++) {
        float *dst = qp + (r / MR) * j->d * MR + r % MR;
        for (ptrdiff_t p = 0; p < j->d; p++) dst[p * MR] = r < rows ? q[r * width + p] * j->scale : 0.0f;
    }
    // S = (Q/√d)·Kᵀ   (rows6 × n16)
    for (ptrdiff_t ib = 0; ib < rows6 / MR; ib++)
        for (ptrdiff_t panel = 0; panel < j->n16 / NR; panel++)
            j->kernel(j->d, qp + ib * j->d * MR, kp + panel * j->d * NR, s + ib * MR * j->n16 + panel * NR, j->n16);
    // P = softmax over the n real keys, packed as the A operand: Pp[block of 6][t][r] = P[r][t]
    for (ptrdiff_t r = 0; r < rows6; r++) {
        float *row = s + r * j->n16;
        if (r < rows) ddim_softmax_row(row, j->n);
        float *dst = pp + (r / MR) * j->n * MR + r % MR;
        for (ptrdiff_t t = 0; t < j->n; t++) dst[t * MR] = r < rows ? row[t] : 0.0f;
    }
    // O = P·V   (rows6 × d16), the real rows and columns into O
    for (ptrdiff_t ib = 0; ib < rows6 / MR; ib++)
        for (ptrdiff_t panel = 0; panel < j->d16 / NR; panel++)
            j->kernel(j->n, pp + ib * j->n * MR, vp + panel * j->n * NR, ot + ib * MR * j->d16 + panel * NR, j->d16);
    float *o = j->o + (image * j->n + r0) * j->inner + head * j->d;
    for (ptrdiff_t r = 0; r < rows; r++) memcpy(o + r * j->inner, ot + r * j->d16, sizeof(float) * (size_t)j->d);
    free(qp);
}

static int attention(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows,
                     float *o, micro_kernel kernel) {
    attention_job j = {qkv, o, NULL, n, d, heads, heads * d, rows, (n + rows - 1) / rows, round_up(n, NR), round_up(d, NR),
                       0.0f, kernel};
    // 1/√d
    j.scale = 1.0f / sqrtf((float)d);
    j.packed = alloc_aligned((size_t)(batch * heads * packed_per_head(&j)));
    if (!j.packed) return -1;
    ddim_parallel_for(batch * heads * 2 * PACK_PARTS, pack_keys_values, &j);
    ddim_parallel_for(batch * heads * j.blocks, attend_block, &j);
    free_aligned(j.packed);
    return 0;
}

int ddim_attention(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows, float *o) {
    return attention(qkv, batch, n, heads, d, rows, o, ddim_micro_kernel());
}

int ddim_attention_portable(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows,
                            float *o) {
    return attention(qkv, batch, n, heads, d, rows, o, ddim_micro_kernel_portable());
}
