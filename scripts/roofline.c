// The roofline's ceiling for docs/performance.md: peak single-precision FMA throughput of this
// machine per kernel path, measured rather than looked up (a VM's vCPUs, licence clocks).
//
//   cc -O2 -pthread scripts/roofline.c -o /tmp/roofline && /tmp/roofline [seconds]
//   (or scripts/roofline.sh, which builds and runs it)
//
// Each path runs a loop of independent FMAs into as many accumulators as hide the FMA latency
// (scalar 8, AVX2 12 YMM, AVX-512 24 ZMM; AVX-512 BF16's dot products likewise), on 1 thread
// and then on 2 at once; GFLOP/s = 2 · lanes · FMAs / seconds (a bf16 pair counts as 2 lanes). Paths the CPU lacks are skipped. Not a test: run by hand.

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static volatile float sink;

// iterations of 8 independent scalar FMAs (the compiler keeps them scalar: -fno-tree-vectorize
// is not needed, the chains depend on themselves only through their own accumulator)
__attribute__((target("fma"))) static double scalar_fmas(long iters) {
    float a0 = 1, a1 = 2, a2 = 3, a3 = 4, a4 = 5, a5 = 6, a6 = 7, a7 = 8;
    const float m = 0.999999f, c = 1e-7f;
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));  // keep the chains scalar
        a0 = __builtin_fmaf(a0, m, c), a1 = __builtin_fmaf(a1, m, c), a2 = __builtin_fmaf(a2, m, c);
        a3 = __builtin_fmaf(a3, m, c), a4 = __builtin_fmaf(a4, m, c), a5 = __builtin_fmaf(a5, m, c);
        a6 = __builtin_fmaf(a6, m, c), a7 = __builtin_fmaf(a7, m, c);
    }
    sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    return 8.0 * iters;  // FMAs of one lane
}

// accumulators as named variables (an array of vectors GCC keeps in memory)
// (distinct starting values, or the compiler merges identical chains into one)
#define DECL4(T, n, set, v) T n##0 = set(v + 0.1f), n##1 = set(v + 0.2f), n##2 = set(v + 0.3f), n##3 = set(v + 0.4f);
#define FMA4(f, n, m, c) n##0 = f(n##0, m, c), n##1 = f(n##1, m, c), n##2 = f(n##2, m, c), n##3 = f(n##3, m, c);
#define SUM4(add, n) add(add(n##0, n##1), add(n##2, n##3))

__attribute__((target("avx2,fma"))) static double avx2_fmas(long iters) {
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    DECL4(__m256, a, _mm256_set1_ps, 1) DECL4(__m256, b, _mm256_set1_ps, 2) DECL4(__m256, d, _mm256_set1_ps, 3)
    for (long i = 0; i < iters; i++) {
        FMA4(_mm256_fmadd_ps, a, m, c) FMA4(_mm256_fmadd_ps, b, m, c) FMA4(_mm256_fmadd_ps, d, m, c)
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(SUM4(_mm256_add_ps, a), SUM4(_mm256_add_ps, b)), SUM4(_mm256_add_ps, d));
    sink = _mm256_cvtss_f32(s);
    return 12.0 * 8 * iters;
}

__attribute__((target("avx512f"))) static double avx512_fmas(long iters) {
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    DECL4(__m512, a, _mm512_set1_ps, 1) DECL4(__m512, b, _mm512_set1_ps, 2) DECL4(__m512, d, _mm512_set1_ps, 3)
    DECL4(__m512, e, _mm512_set1_ps, 4) DECL4(__m512, f, _mm512_set1_ps, 5) DECL4(__m512, g, _mm512_set1_ps, 6)
    for (long i = 0; i < iters; i++) {
        FMA4(_mm512_fmadd_ps, a, m, c) FMA4(_mm512_fmadd_ps, b, m, c) FMA4(_mm512_fmadd_ps, d, m, c)
        FMA4(_mm512_fmadd_ps, e, m, c) FMA4(_mm512_fmadd_ps, f, m, c) FMA4(_mm512_fmadd_ps, g, m, c)
    }
    const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(SUM4(_mm512_add_ps, a), SUM4(_mm512_add_ps, b)),
                                                 _mm512_add_ps(SUM4(_mm512_add_ps, d), SUM4(_mm512_add_ps, e))),
                                   _mm512_add_ps(SUM4(_mm512_add_ps, f), SUM4(_mm512_add_ps, g)));
    sink = _mm512_reduce_add_ps(s);
    return 24.0 * 16 * iters;
}

// AVX-512 BF16: VDPBF16PS, each lane a dot product of 2 bf16 pairs added to an fp32 accumulator
// (2 multiplies and 2 adds a lane: counted as 2 FMAs), 24 independent ZMM chains as above.
__attribute__((target("avx512f,avx512bf16"))) static double bf16_dots(long iters) {
    const __m512bh m = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), c = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    DECL4(__m512, a, _mm512_set1_ps, 1) DECL4(__m512, b, _mm512_set1_ps, 2) DECL4(__m512, d, _mm512_set1_ps, 3)
    DECL4(__m512, e, _mm512_set1_ps, 4) DECL4(__m512, f, _mm512_set1_ps, 5) DECL4(__m512, g, _mm512_set1_ps, 6)
#define DOT4(x) x##0 = _mm512_dpbf16_ps(x##0, m, c); x##1 = _mm512_dpbf16_ps(x##1, m, c); \
    x##2 = _mm512_dpbf16_ps(x##2, m, c); x##3 = _mm512_dpbf16_ps(x##3, m, c);
    for (long i = 0; i < iters; i++) {
        DOT4(a) DOT4(b) DOT4(d) DOT4(e) DOT4(f) DOT4(g)
    }
    const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(SUM4(_mm512_add_ps, a), SUM4(_mm512_add_ps, b)),
                                                 _mm512_add_ps(SUM4(_mm512_add_ps, d), SUM4(_mm512_add_ps, e))),
                                   _mm512_add_ps(SUM4(_mm512_add_ps, f), SUM4(_mm512_add_ps, g)));
    sink = _mm512_reduce_add_ps(s);
    return 24.0 * 32 * iters;
}

typedef double (*fma_loop)(long);
typedef struct {
    fma_loop f;
    long iters;
    double lane_fmas, seconds;
} job;

static void *run(void *p) {
    job *j = p;
    const double t0 = now();
    j->lane_fmas = j->f(j->iters);
    j->seconds = now() - t0;
    return NULL;
}

// GFLOP/s of `threads` threads running f at once, the best of 5 tries of ~`seconds` each.
static double measure(fma_loop f, int threads, double seconds) {
    long iters = 1000;
    for (;;) {  // calibrate to ~seconds on one thread
        job j = {f, iters, 0, 0};
        run(&j);
        if (j.seconds > seconds / 4) {
            iters = (long)(iters * seconds / j.seconds);
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int t = 0; t < 5; t++) {
        pthread_t th[64];
        job jobs[64];
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){f, iters, 0, 0};
            pthread_create(&th[i], NULL, run, &jobs[i]);
        }
        double flops = 0, slowest = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            flops += 2 * jobs[i].lane_fmas;
            if (jobs[i].seconds > slowest) slowest = jobs[i].seconds;
        }
        // flops of all threads / the slowest thread's time
        const double g = flops / slowest / 1e9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int avx512 = __builtin_cpu_supports("avx512f");
    printf("| path | FMA width | GFLOP/s, 1 thread | GFLOP/s, 2 threads |\n| --- | --- | --- | --- |\n");
    printf("| scalar (portable C's ceiling, unvectorised) | 1 | %.1f | %.1f |\n", measure(scalar_fmas, 1, seconds),
           measure(scalar_fmas, 2, seconds));
    if (avx2)
        printf("| AVX2 + FMA | 8 | %.1f | %.1f |\n", measure(avx2_fmas, 1, seconds), measure(avx2_fmas, 2, seconds));
    else
        printf("| AVX2 + FMA | 8 | (not on this CPU) | |\n");
    if (avx512)
        printf("| AVX-512 | 16 | %.1f | %.1f |\n", measure(avx512_fmas, 1, seconds), measure(avx512_fmas, 2, seconds));
    else
        printf("| AVX-512 | 16 | (not on this CPU) | |\n");
    if (__builtin_cpu_supports("avx512bf16"))
        printf("| AVX-512 BF16 (VDPBF16PS; bf16 products, fp32 sums) | 32 | %.1f | %.1f |\n", measure(bf16_dots, 1, seconds),
               measure(bf16_dots, 2, seconds));
    else
        printf("| AVX-512 BF16 | 32 | (not on this CPU) | |\n");
    return 0;
}
