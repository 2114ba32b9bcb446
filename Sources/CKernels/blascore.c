// OpenBLAS picks its kernels from the CPU's model number when it loads. On a model newer than
// the build knows — Debian 12's OpenBLAS 0.3.21 on a hypervisor's "Intel(R) Xeon(R) Processor"
// — it falls back to Prescott's SSE3 kernels: measured on such a machine, the attention and 1×1
// GEMMs of a forward ran several times slower than AVX2 would. The choice can only be changed
// through OPENBLAS_CORETYPE, read in OpenBLAS's load-time constructor, so the process re-executes
// itself once with it set.

#include "ckernels.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

void ddim_blas_upgrade_core(char *const argv[]) {
    const char *core = ddim_blas_better_core();
    if (core == NULL) return;
    if (setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    unsetenv("DDIM_ASSUME_BLAS_CORE");
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");  // exec failed: go on with the kernels OpenBLAS chose
}
