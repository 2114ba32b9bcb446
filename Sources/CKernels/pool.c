// ddim's own thread pool: the caller and N − 1 workers share the tasks of one parallel loop.
//
// Why not OpenBLAS's threads or Dispatch: at batch 1 the GEMMs of a UNet forward are small
// (a few MFLOP each, hundreds per forward), and waking a parked thread for each one costs more
// than it saves — OpenBLAS on 2 threads was no faster than on 1 (cifar10-32, batch 1), and
// `concurrentPerform` was slower still (third session). Workers here spin for a while after a
// loop ends, so the next one (microseconds later, inside the same forward) starts at once, and
// park on a condition variable once the forward is over.

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE  // sched_getaffinity, CPU_COUNT
#endif
#include "ckernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

// OpenBLAS runs single-threaded inside each task: the pool is the only source of parallelism.
extern void openblas_set_num_threads(int num_threads);
// OpenBLAS starts cores − 1 threads of its own as it loads, and they spin (sched_yield) for 2²⁸
// cycles (~70 ms) waiting for work, then sleep: in every process, a core taken from the pool for
// its first forwards (the digits model's whole `ddim bench` run). ddim never lets OpenBLAS
// thread, so they are stopped once, by the call OpenBLAS itself makes before a fork; with one
// thread set it never starts them again.
extern int blas_thread_shutdown_(void);
static pthread_once_t blas_threads_once = PTHREAD_ONCE_INIT;
static void stop_blas_threads(void) {
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
}

void ddim_blas_single_threaded(void) { pthread_once(&blas_threads_once, stop_blas_threads); }

enum { MAX_THREADS = 64 };
// How long an idle worker spins before it parks: longer than the gaps inside a forward
// (a scheduler step, a group norm), short enough not to hold a core once sampling stops.
static const long SPIN_NS = 2000000;

// More threads than CPUs: a spinning thread would take the core of one with work (measured:
// 3 threads on 2 cores, 78 → 143 ms a cifar10-32 forward), so idle threads park at once and a
// waiting caller yields instead of spinning.
static _Atomic int oversubscribed;

// The open loop's claim word: its generation in the high 32 bits, the next unclaimed index in
// the low 32 (CLOSED while its fields are being replaced).
#define CLOSED 0xFFFFFFFFu

static struct {
    _Atomic uint64_t claim;
    _Atomic(ddim_task_fn) fn;
    _Atomic(void *) ctx;
    _Atomic ptrdiff_t count;
    _Atomic ptrdiff_t done;      // tasks of the open loop finished
    _Atomic uint32_t generation;  // bumped for each loop: what idle workers watch
    _Atomic int sleepers;
    _Atomic int busy;         // a caller holds the pool (others run their loops serially)
    _Atomic int threads;      // caller included
    int started;              // workers running
    pthread_mutex_t lock;     // guards started and the parking
    pthread_cond_t wake;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static _Thread_local int inside_task;  // nested loops run serially

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// Claims and runs tasks of the open loop until none is left. Order matters: the claim word is
// read first, then the fields, and a claim is taken only by a compare-and-swap from that very
// word. A caller closes the word before it replaces the fields, so fields read from two loops
// (or from a loop being set up) always meet a changed word and are never run. (The first
// version read the fields first: a worker could pair the next loop's count with the last loop's
// word and run a task twice — Swift's check that parallelFor's closure did not escape caught it
// in a bench run; `ThreadPoolTests.everyTaskOnce` catches it in 2 runs of 3.) No caller waits
// for idle workers, so a worker preempted between loops holds nothing up.
static void run_tasks(void) {
    for (;;) {
        uint64_t v = atomic_load(&pool.claim);
        const ddim_task_fn fn = atomic_load(&pool.fn);
        void *const ctx = atomic_load(&pool.ctx);
        const ptrdiff_t count = atomic_load(&pool.count);
        const uint32_t i = (uint32_t)v;
        if (i == CLOSED || (ptrdiff_t)i >= count) return;
        if (!atomic_compare_exchange_strong(&pool.claim, &v, v + 1)) continue;
        inside_task = 1;
        fn(ctx, (ptrdiff_t)i);
        inside_task = 0;
        atomic_fetch_add(&pool.done, 1);
    }
}

static void *worker_main(void *arg) {
    // workers 0…threads − 2 take part; the rest only wait. `seen` starts at the generation before
    // the loop that started the worker, which it then joins (read here, a thread slow to start
    // would already see that loop's generation and sit it out)
    const int index = (int)((uintptr_t)arg & 0xFFFF);
    uint32_t seen = (uint32_t)((uintptr_t)arg >> 32);
    for (;;) {
        long spin_start = now_ns();
        unsigned spins = 0;
        uint32_t g;
        while ((g = atomic_load(&pool.generation)) == seen) {
            CPU_RELAX();
            if (atomic_load(&oversubscribed) || (++spins % 256 == 0 && now_ns() - spin_start > SPIN_NS)) {
                pthread_mutex_lock(&pool.lock);
                atomic_fetch_add(&pool.sleepers, 1);
                while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                atomic_fetch_sub(&pool.sleepers, 1);
                pthread_mutex_unlock(&pool.lock);
            }
        }
        seen = g;
        if (index < atomic_load(&pool.threads) - 1) run_tasks();
    }
    return NULL;
}

// The CPUs this process may run on (its affinity mask where the system has one: a container's
// cpuset, taskset), else the online ones.
static int online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
#endif
    return n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
}


void ddim_pool_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    ddim_blas_single_threaded();
    atomic_store(&oversubscribed, n > online_cpus());
    atomic_store(&pool.threads, n);
}

int ddim_pool_threads(void) {
    int n = atomic_load(&pool.threads);
    if (n == 0) {
        ddim_pool_set_threads(online_cpus());
        n = atomic_load(&pool.threads);
    }
    return n;
}

int ddim_pool_workers_started(void) {
    pthread_mutex_lock(&pool.lock);
    const int started = pool.started;
    pthread_mutex_unlock(&pool.lock);
    return started;
}

// Starts workers up to threads − 1; they are never stopped (a loop with fewer threads leaves
// the extra ones parked). Returns how many run.
static int ensure_workers(int threads) {
    pthread_mutex_lock(&pool.lock);
    while (pool.started < threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const uintptr_t arg = (uintptr_t)atomic_load(&pool.generation) << 32 | (uintptr_t)pool.started;
        int failed = pthread_create(&t, &attr, worker_main, (void *)arg);
        pthread_attr_destroy(&attr);
        if (failed) break;  // fewer threads: the caller does the rest
        pool.started++;
    }
    int started = pool.started;
    pthread_mutex_unlock(&pool.lock);
    return started;
}

void ddim_parallel_for(ptrdiff_t count, ddim_task_fn fn, void *ctx) {
    if (count <= 0) return;
    int threads = ddim_pool_threads();
    int expected = 0;
    if (threads <= 1 || count == 1 || inside_task || !atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
        for (ptrdiff_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    if (ensure_workers(threads) == 0) {
        atomic_store(&pool.busy, 0);
        for (ptrdiff_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    // close the word, replace the fields, open the word for the new generation
    const uint32_t g = atomic_load(&pool.generation) + 1;
    atomic_store(&pool.claim, (uint64_t)g << 32 | CLOSED);
    atomic_store(&pool.fn, fn);
    atomic_store(&pool.ctx, ctx);
    atomic_store(&pool.count, count);
    atomic_store(&pool.done, 0);
    atomic_store(&pool.claim, (uint64_t)g << 32);
    atomic_store(&pool.generation, g);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_tasks();
    // the last tasks may still run on workers; a descheduled one gets the core back by yielding
    unsigned spins = 0;
    while (atomic_load(&pool.done) < count) {
        if (++spins < 4096 && !atomic_load(&oversubscribed)) CPU_RELAX(); else sched_yield();
    }
    atomic_store(&pool.busy, 0);
}

// ---------------------------------------------------------------------------------------------
// OpenBLAS keeps one buffer (128 MB of address space) per thread calling it at the same time,
// mapped at that thread's first call. Under an address-space limit the memory budget counts
// them before the first forward, then has every thread of the pool take a buffer at once, so
// that they are mapped while the room is there (blascore.c says why an unmappable one hangs).

extern void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc);
// OpenBLAS's own buffer allocator (driver/others/memory.c, exported): what its calls take.
extern void *blas_memory_alloc(int procpos) __attribute__((weak));
extern void blas_memory_free(void *buffer) __attribute__((weak));
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef struct {
    _Atomic int arrived;
    int expected;
} warm_job;

static void warm_part(void *ctx, ptrdiff_t task) {
    (void)task;
    warm_job *j = ctx;
    // a buffer held until every thread holds one, so that no two share (a call would release its
    // buffer on return, and the next thread's call could take the same one)
    void *buffer = NULL;
    if (blas_memory_alloc && blas_memory_free) {
        buffer = blas_memory_alloc(0);
    } else {
        float a = 0.0f, b = 0.0f, c = 0.0f;
        cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
    }
    atomic_fetch_add(&j->arrived, 1);
    // at most 0.2 s: a thread that never comes leaves its buffer to its first real call
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (atomic_load(&j->arrived) < j->expected) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 200000000L) break;
        sched_yield();
    }
    if (buffer) blas_memory_free(buffer);
}

int ddim_blas_warm(void) {
    const int threads = ddim_pool_threads();
    const int callers = (threads > 1 ? ensure_workers(threads) : 0) + 1;
    warm_job j = {0, callers};
    ddim_parallel_for(callers, warm_part, &j);
    return callers;
}

// ---------------------------------------------------------------------------------------------
// GEMM split over the pool: C (M × N) = α·op(A)·op(B) + β·C, row-major, in bands of rows of C
// (or of columns when M is small), each one single-threaded OpenBLAS call.

extern void cblas_sgemv(int order, int trans, int m, int n, float alpha, const float *a, int lda, const float *x,
                        int incx, float beta, float *y, int incy);

typedef struct {
    int trans_a, trans_b;
    ptrdiff_t m, n, k, lda, ldb, ldc, parts, by_rows;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_job;

static void gemm_part(void *ctx, ptrdiff_t part) {
    const gemm_job *j = ctx;
    const ptrdiff_t total = j->by_rows ? j->m : j->n;
    // bands in multiples of 16 rows or columns (OpenBLAS's kernels' widths divide 16)
    const ptrdiff_t unit = 16, units = (total + unit - 1) / unit;
    const ptrdiff_t lo = (units * part / j->parts) * unit;
    ptrdiff_t hi = (units * (part + 1) / j->parts) * unit;
    if (hi > total) hi = total;
    if (lo >= hi) return;
    const float *a = j->a, *b = j->b;
    float *c = j->c;
    ptrdiff_t m = j->m, n = j->n;
    if (j->by_rows) {
        a += j->trans_a ? lo : lo * j->lda;
        c += lo * j->ldc;
        m = hi - lo;
    } else {
        b += j->trans_b ? lo * j->ldb : lo;
        c += lo;
        n = hi - lo;
    }
    if (m == 1) {
        // one row of C (a time embedding's projection at batch 1): a matrix-vector product, so
        // that OpenBLAS does not pack all of B to use it once (sgemm did: ~4× the time)
        const int incx = j->trans_a ? (int)j->lda : 1;
        // β = 0 must not read C (it may be uninitialised, NaN included): zeros first
        if (j->beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)n);
        if (j->trans_b) {
            // c = B·x, B (n × k)
            cblas_sgemv(ROW_MAJOR, NO_TRANS, (int)n, (int)j->k, j->alpha, b, (int)j->ldb, a, incx, j->beta, c, 1);
        } else {
            // c = Bᵀ·x, B (k × n)
            cblas_sgemv(ROW_MAJOR, TRANS, (int)j->k, (int)n, j->alpha, b, (int)j->ldb, a, incx, j->beta, c, 1);
        }
        return;
    }
    cblas_sgemm(ROW_MAJOR, j->trans_a ? TRANS : NO_TRANS, j->trans_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)j->k,
                j->alpha, a, (int)j->lda, b, (int)j->ldb, j->beta, c, (int)j->ldc);
}

void ddim_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    gemm_job j = {trans_a, trans_b, m, n, k, lda, ldb, ldc, 1, m >= n, alpha, beta, a, b, c};
    const int threads = ddim_pool_threads();
    // below ~0.5 MFLOP a split costs more than it saves
    if (threads > 1 && (double)m * (double)n * (double)k >= 262144.0) {
        const ptrdiff_t units = ((j.by_rows ? m : n) + 15) / 16;
        j.parts = units < threads ? units : threads;
    }
    if (j.parts <= 1) {
        gemm_part(&j, 0);
    } else {
        ddim_parallel_for(j.parts, gemm_part, &j);
    }
}

// `count` GEMMs of one shape, operands `stride_*` floats apart, in one parallel loop: each GEMM
// whole when there are enough of them to share, else split into bands as ddim_sgemm splits one.
typedef struct {
    gemm_job shape;
    ptrdiff_t stride_a, stride_b, stride_c;
} batched_job;

static void batched_part(void *ctx, ptrdiff_t task) {
    const batched_job *j = ctx;
    const ptrdiff_t item = task / j->shape.parts, part = task % j->shape.parts;
    gemm_job one = j->shape;
    one.a += item * j->stride_a;
    one.b += item * j->stride_b;
    one.c += item * j->stride_c;
    gemm_part(&one, part);
}

void ddim_sgemm_batched(ptrdiff_t count, int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                        const float *a, ptrdiff_t lda, ptrdiff_t stride_a, const float *b, ptrdiff_t ldb,
                        ptrdiff_t stride_b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t stride_c) {
    batched_job j = {{trans_a, trans_b, m, n, k, lda, ldb, ldc, 1, m >= n, alpha, beta, a, b, c}, stride_a, stride_b, stride_c};
    const int threads = ddim_pool_threads();
    if (threads > 1 && count < 2 * threads && (double)m * (double)n * (double)k >= 262144.0) {
        // bands enough for about two tasks a thread
        const ptrdiff_t want = (2 * threads + count - 1) / count;
        const ptrdiff_t units = ((j.shape.by_rows ? m : n) + 15) / 16;
        j.shape.parts = units < want ? units : want;
    }
    if (count * j.shape.parts == 1) {
        gemm_part(&j.shape, 0);
    } else {
        ddim_parallel_for(count * j.shape.parts, batched_part, &j);
    }
}
