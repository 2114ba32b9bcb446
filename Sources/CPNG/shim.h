// libpng's simplified API (no setjmp/longjmp, which Swift cannot use) for reading, and
// zlib's compress2/crc32 for writing PNG chunks (tEXt included) directly.
#include <png.h>
#include <zlib.h>
