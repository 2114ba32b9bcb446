// Throughput of ddim's Winograd GEMM kernels alone, one thread, operands in cache: the 6 × 16
// AVX2 kernel and the 24 × 16 AVX-512 one (microkernel.h) on the shapes of a forward's planes
// (kc input channels, blocks of 6 output channels, one panel of 16 tiles), against
// scripts/roofline.c's ceiling. Not a test: run by hand, for docs/performance.md.
//
//   S=Sources/CKernels; clang -O2 -I$S -I$S/include scripts/gemm_kernel_bench.c $S/*.c \
//       $(pkg-config --cflags --libs openblas) -lpthread -lm -o /tmp/gemm_kernel_bench && /tmp/gemm_kernel_bench

#include "microkernel.h"

#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const ptrdiff_t kcs[] = {32, 64, 128, 256, 512}, blocks_of[] = {6, 11, 22, 43, 86};  // cout 32 … 512
    printf("| kernel | kc (input channels) | output channels | GFLOP/s, 1 thread |\n| --- | --- | --- | --- |\n");
    for (int path = DDIM_KERNELS_AVX2; path <= DDIM_KERNELS_AVX512; path++) {
        if (!ddim_kernel_path_supported(path)) continue;
        for (int i = 0; i < 5; i++) {
            const ptrdiff_t kc = kcs[i], blocks = blocks_of[i];
            float *a = alloc_aligned((size_t)(blocks * kc * 6)), *b = alloc_aligned((size_t)(kc * 16));
            float *c = alloc_aligned((size_t)(blocks * 6 * 16));
            if (!a || !b || !c) return 1;
            for (ptrdiff_t j = 0; j < blocks * kc * 6; j++) a[j] = 0.001f * (float)(j % 7);
            for (ptrdiff_t j = 0; j < kc * 16; j++) b[j] = 0.001f * (float)(j % 5);
            const micro_kernel kernel = ddim_micro_kernel_for(path);
            const long reps = 400000000L / (blocks * kc * 96);
            double best = 1e9;
            for (int t = 0; t < 5; t++) {
                const double t0 = now();
                for (long r = 0; r < reps; r++) kernel(blocks, kc, a, kc * 6, b, c, 16);
                const double s = now() - t0;
                if (s < best) best = s;
            }
            // 2 flops a multiply-add, blocks·6 rows × 16 columns × kc
            printf("| %s | %ld | %ld | %.1f |\n", ddim_kernel_path_name(path), (long)kc, (long)(blocks * 6),
                   2.0 * reps * blocks * 6 * 16 * kc / best / 1e9);
            free_aligned(a);
            free_aligned(b);
            free_aligned(c);
        }
    }
    return 0;
}
