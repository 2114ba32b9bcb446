// ncursesw for Swift. SwiftPM drops pkg-config's -D flags, so the wide-character API is
// switched on here, and the macros and C globals Swift cannot import are wrapped.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncurses.h>
#include <term.h>

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

/// Whether terminfo's entry for `term` can move the cursor (`cup`): 1 yes, 0 no, -1 no such
/// entry. Reads the entry only (setupterm writes nothing), and frees it again.
static inline int ddim_term_addressable(const char *term) {
    int err = 0;
    TERMINAL *saved = cur_term;
    if (setupterm(term, fileno(stdout), &err) != OK) { set_curterm(saved); return -1; }
    char *cup = tigetstr("cup");
    int ok = (cup != NULL && cup != (char *)-1) ? 1 : 0;
    TERMINAL *loaded = cur_term;
    set_curterm(saved);
    del_curterm(loaded);
    return ok;
}

/// Reports left clicks and the wheel (xterm's mouse protocol, as ncurses speaks it); returns
/// whether the terminal takes it.
static inline int ddim_mouse_on(void) {
    mouseinterval(0);
    return mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL) != 0;
}

/// The mouse event behind a KEY_MOUSE: 1 left button, 4 wheel up, 5 wheel down, 0 other or none;
/// `row` and `column` are the cell.
static inline int ddim_mouse_event(int *row, int *column) {
    MEVENT e;
    if (getmouse(&e) != OK) return 0;
    *row = e.y;
    *column = e.x;
    if (e.bstate & BUTTON1_PRESSED) return 1;
    if (e.bstate & BUTTON4_PRESSED) return 4;
    if (e.bstate & BUTTON5_PRESSED) return 5;
    return 0;
}
