// OpenBLAS picks its kernels from the CPU's model number when it loads. On a model newer than
// the build knows — Debian 12's OpenBLAS 0.3.21 on a hypervisor's "Intel(R) Xeon(R) Processor"
// — it falls back to Prescott's SSE3 kernels: measured on such a machine, the attention and 1×1
// GEMMs of a forward ran several times slower than AVX2 would. The choice can only be changed
// through OPENBLAS_CORETYPE, read in OpenBLAS's load-time constructor, so the process re-executes
// itself once with it set.
//
// The same re-execution serves an address-space limit (RLIMIT_AS, `ulimit -v`, `prlimit --as`).
// OpenBLAS 0.3.21 gives every thread that calls it a buffer of BUFFER_SIZE (128 MB on x86_64,
// 32 << 22) of address space, mapped at its first call and kept, and as it loads it starts
// cores − 1 threads of its own that map theirs at once. When neither mmap nor malloc can give it
// that buffer, blas_memory_alloc (driver/others/memory.c) tries again, for ever: `do { … } while
// (map_address == -1)` — `ddim sample` under `prlimit --as=400000000` spun there. ddim never
// lets OpenBLAS thread (it runs single-threaded inside ddim's pool), so with the limit finite it
// re-executes with OPENBLAS_NUM_THREADS=1: no idle OpenBLAS threads holding 128 MB each. The
// buffers of the threads that do call it are budgeted before the first call (Engine's
// MemoryBudget, which lowers the thread count or refuses). One malloc arena, too: glibc reserves
// 64 MB of address space for each thread's arena (128 MB while making it).

#include "ckernels.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

extern char *openblas_get_corename(void);

// Cores with AVX2 + FMA kernels (or better); anything else on an AVX2 + FMA CPU is a fallback.
static int modern_core(const char *name) {
    static const char *const modern[] = {"Haswell", "Excavator", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof modern / sizeof modern[0]; i++)
        if (strcasecmp(name, modern[i]) == 0) return 1;
    return 0;
}

const char *ddim_blas_better_core(void) {
    if (getenv("OPENBLAS_CORETYPE") != NULL) return NULL;  // the user's choice stands
    const char *assumed = getenv("DDIM_ASSUME_BLAS_CORE");  // tests: pretend OpenBLAS chose this
    const char *name = assumed && *assumed ? assumed : openblas_get_corename();
    if (name == NULL || modern_core(name)) return NULL;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    return "Haswell";
#else
    return NULL;
#endif
}

int ddim_address_space_limited(void) {
    struct rlimit limit;
    return getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
}

void ddim_blas_upgrade_core(char *const argv[]) {
    int again = 0;
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    char *const previous_threads = threads ? strdup(threads) : NULL;
    if (ddim_address_space_limited()) {
#if defined(M_ARENA_MAX)
        mallopt(M_ARENA_MAX, 1);
#endif
        // OPENBLAS_NUM_THREADS overrides GOTO_NUM_THREADS and OMP_NUM_THREADS
        if ((threads == NULL || strcmp(threads, "1") != 0) && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0) again = 1;
    }
    const char *core = ddim_blas_better_core();
    if (core != NULL && setenv("OPENBLAS_CORETYPE", core, 1) == 0) {
        unsetenv("DDIM_ASSUME_BLAS_CORE");
        again = 1;
    }
    if (again) execv("/proc/self/exe", argv);
    // nothing to do, or the exec failed: go on as OpenBLAS started
    if (again && core != NULL) unsetenv("OPENBLAS_CORETYPE");
    if (again && previous_threads != NULL) setenv("OPENBLAS_NUM_THREADS", previous_threads, 1);
    else if (again && previous_threads == NULL) unsetenv("OPENBLAS_NUM_THREADS");
    free(previous_threads);
    // and OpenBLAS's own threads stopped now, before they spin through the model's loading
    ddim_blas_single_threaded();
}
