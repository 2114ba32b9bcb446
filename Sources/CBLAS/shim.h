// OpenBLAS through its CBLAS interface (Debian: libopenblas-dev, pkg-config openblas).
#include <cblas.h>

// Declared by OpenBLAS; repeated so the shim does not depend on openblas_config.h's layout.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
