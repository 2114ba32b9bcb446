// ncursesw for Swift. SwiftPM drops pkg-config's -D flags, so the wide-character API is
// switched on here, and the macros and C globals Swift cannot import are wrapped.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncurses.h>

#include <stdio.h>

static inline WINDOW *ddim_stdscr(void) { return stdscr; }
/// newterm on the process's own standard output and input.
static inline SCREEN *ddim_newterm(const char *term) { return newterm(term, stdout, stdin); }
static inline int ddim_lines(void) { return LINES; }
static inline int ddim_cols(void) { return COLS; }
static inline int ddim_colors(void) { return COLORS; }
static inline int ddim_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t ddim_a_bold(void) { return A_BOLD; }
static inline attr_t ddim_a_dim(void) { return A_DIM; }
static inline attr_t ddim_a_reverse(void) { return A_REVERSE; }
static inline attr_t ddim_a_normal(void) { return A_NORMAL; }
static inline attr_t ddim_a_underline(void) { return A_UNDERLINE; }
/// A terminfo string capability of the current terminal; NULL when it has none.
static inline const char *ddim_tigetstr(const char *name) {
    char *s = tigetstr(name);
    return (s == NULL || s == (char *)-1) ? NULL : s;
}
