// What the process holds, for the memory budget (Engine's MemoryBudget): what malloc keeps
// free for reuse, and what a new thread's stack maps.

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE  // pthread_getattr_default_np
#endif
#include "ckernels.h"

#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

size_t ddim_heap_free_bytes(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 info = mallinfo2();
    return info.fordblks;
#else
    return 0;
#endif
}

size_t ddim_default_thread_stack(void) {
    size_t bytes = 0;
#if defined(__GLIBC__)
    pthread_attr_t attr;
    if (pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &bytes);
        pthread_attr_destroy(&attr);
    }
#endif
    return bytes;
}
