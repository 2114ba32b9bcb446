// OpenBLAS through its CBLAS interface (Debian: libopenblas-dev, pkg-config openblas).
#include <cblas.h>

// Declared by OpenBLAS; repeated so the shim does not depend on openblas_config.h's layout.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

// glibc's allocator tuning (Memory.keepFreedBuffers): the big buffers of a forward pass.
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
static inline void ddim_keep_freed_buffers(void) {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#else
static inline void ddim_keep_freed_buffers(void) {}
#endif
