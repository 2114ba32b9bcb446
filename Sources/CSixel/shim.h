// libsixel (Debian's libsixel-dev): sixel encoding with a good palette and dithering for the
// pixel previews, and its decoder, which the tests read the encoder's output back with.
#include <sixel/sixel.h>
