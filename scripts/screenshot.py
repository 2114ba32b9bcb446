#!/usr/bin/env python3
"""A PNG screenshot of the live sampler, as a terminal shows it (docs/tui.png).

Runs `ddim` in a private tmux server, waits for the status bar to say "done", reads the screen
with its colours (`tmux capture-pane -p -e`) and draws every cell with DejaVu Sans Mono; block
elements (▀ ▄ █ ▌ ▐ and the eighths of the progress bar) are drawn as rectangles, so that
previews come out crisp. Matplotlib ships the font, so Pillow + matplotlib are all it needs.

    python scripts/screenshot.py docs/tui.png -- --steps 40 --batch 6 --seed 21
    python scripts/screenshot.py /tmp/shot.png --size 120x36 --keys v -- --model /tmp/bench/cifar10-32
    python scripts/screenshot.py docs/tui-80x24.png --size 80x24 -- --steps 30 --batch 2 --seed 21
    python scripts/screenshot.py docs/tui-c-locale.png --size 80x24 --lang C -- --steps 30 --batch 2 --seed 21
"""
import argparse
import os
import re
import subprocess
import sys
import time
import unicodedata

from PIL import Image, ImageDraw, ImageFont

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# xterm's 16 colours and the 256-colour cube and grey ramp
BASE16 = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
          (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
          (255, 0, 255), (0, 255, 255), (255, 255, 255)]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[n // 36], steps[n // 6 % 6], steps[n % 6]
    g = 8 + 10 * (n - 232)
    return g, g, g


def font_path(bold=False):
    import matplotlib
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    return os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", name)


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def parse(screen, default_fg, default_bg):
    """The screen as rows of (char, fg, bg, bold) from capture-pane -e output."""
    rows = []
    for line in screen.split("\n"):
        fg, bg, bold, reverse = default_fg, default_bg, False, False
        cells, i = [], 0
        while i < len(line):
            m = SGR.match(line, i)
            if m:
                params = [p for p in re.split(r"[;:]", m.group(1))] or ["0"]
                j = 0
                while j < len(params):
                    p = int(params[j] or 0)
                    if p == 0:
                        fg, bg, bold, reverse = default_fg, default_bg, False, False
                    elif p == 1:
                        bold = True
                    elif p == 7:
                        reverse = True
                    elif p == 22:
                        bold = False
                    elif p == 27:
                        reverse = False
                    elif 30 <= p <= 37:
                        fg = BASE16[p - 30]
                    elif 90 <= p <= 97:
                        fg = BASE16[p - 90 + 8]
                    elif 40 <= p <= 47:
                        bg = BASE16[p - 40]
                    elif 100 <= p <= 107:
                        bg = BASE16[p - 100 + 8]
                    elif p == 39:
                        fg = default_fg
                    elif p == 49:
                        bg = default_bg
                    elif p in (38, 48):
                        mode = int(params[j + 1] or 0)
                        if mode == 5:
                            c = xterm256(int(params[j + 2]))
                            j += 2
                        else:
                            # 38;2;r;g;b or 38:2::r:g:b (an empty colour-space field)
                            vals = [v for v in params[j + 2:j + 6] if v != ""][:3]
                            c = tuple(int(v) for v in vals)
                            j += 1 + (4 if params[j + 2] == "" else 3)
                        if p == 38:
                            fg = c
                        else:
                            bg = c
                    j += 1
                i = m.end()
                continue
            ch = line[i]
            if unicodedata.combining(ch) and cells:
                # a combining mark (x̂) belongs to the cell before it
                prev = cells[-1]
                cells[-1] = (prev[0] + ch,) + prev[1:]
            else:
                cells.append((ch, bg if reverse else fg, fg if reverse else bg, bold))
            i += 1
        rows.append(cells)
    return rows


def block_rect(ch, x, y, w, h):
    """The filled part of a block element, or None for any other character."""
    if ch == "█":
        return (x, y, x + w, y + h)
    if ch == "▀":
        return (x, y, x + w, y + h // 2)
    if ch == "▄":
        return (x, y + h // 2, x + w, y + h)
    if ch == "▌":
        return (x, y, x + w // 2, y + h)
    if ch == "▐":
        return (x + w // 2, y, x + w, y + h)
    if len(ch) != 1:
        return None
    code = ord(ch)
    if 0x2589 <= code <= 0x258F:  # left seven eighths … left one eighth
        return (x, y, x + round(w * (0x2590 - code) / 8), y + h)
    return None


# box drawing: which of the four arms (left, right, up, down) a line character has
BOX = {"─": "lr", "│": "ud", "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu", "├": "rud", "┤": "lud",
       "┬": "lrd", "┴": "lru", "┼": "lrud"}


def draw_box(d, ch, x, y, w, h, fill):
    """Draws a box-drawing character as lines through the cell's centre; False if it is none."""
    arms = BOX.get(ch)
    if arms is None:
        return False
    cx, cy = x + w // 2, y + h // 2
    if "l" in arms:
        d.line((x, cy, cx, cy), fill=fill)
    if "r" in arms:
        d.line((cx, cy, x + w, cy), fill=fill)
    if "u" in arms:
        d.line((cx, y, cx, cy), fill=fill)
    if "d" in arms:
        d.line((cx, cy, cx, y + h), fill=fill)
    return True


def render(rows, columns, out, size=16):
    font, bold_font = ImageFont.truetype(font_path(), size), ImageFont.truetype(font_path(True), size)
    w = round(font.getlength("M"))
    asc, desc = font.getmetrics()
    h = asc + desc + 2
    img = Image.new("RGB", (columns * w, len(rows) * h), (0, 0, 0))
    d = ImageDraw.Draw(img)
    for r, cells in enumerate(rows):
        col = 0
        for ch, fg, bg, bold in cells:
            x, y = col * w, r * h
            d.rectangle((x, y, x + w, y + h), fill=bg)
            rect = block_rect(ch, x, y, w, h)
            if rect:
                d.rectangle((rect[0], rect[1], rect[2] - 1, rect[3] - 1), fill=fg)
            elif draw_box(d, ch, x, y, w, h, fg):
                pass
            elif ch != " ":
                d.text((x, y + 1), ch, font=bold_font if bold else font, fill=fg)
            col += 1
    img.save(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--size", default="132x40", help="terminal columns x rows")
    ap.add_argument("--ddim", default=os.path.join(REPO, ".build", "release", "ddim"))
    ap.add_argument("--keys", default="", help="tmux key names sent once the run is done, space-separated")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--lang", help="LANG for ddim, LC_ALL and LC_CTYPE unset (e.g. C: the ASCII chrome)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:split])
    a.args = argv[split + 1:]  # ddim's own options, after --
    cols, rows = (int(v) for v in a.size.split("x"))
    sock = f"ddim-shot-{os.getpid()}"
    tmux = ["tmux", "-L", sock]
    locale = ["-u", "LC_ALL", "-u", "LC_CTYPE", f"LANG={a.lang}"] if a.lang else []
    cmd = " ".join(["env"] + locale + ["TERM=xterm-256color", "COLORTERM=truecolor", a.ddim] + a.args)
    subprocess.run(tmux + ["-f", "/dev/null", "new-session", "-d", "-x", str(cols), "-y", str(rows), cmd], check=True)
    try:
        deadline = time.time() + a.timeout
        while True:
            screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "0"], capture_output=True, text=True).stdout
            if "done" in screen:
                break
            if time.time() > deadline:
                sys.exit(f"ddim did not finish within {a.timeout:g} s:\n{screen}")
            time.sleep(0.2)
        for key in a.keys.split():
            subprocess.run(tmux + ["send-keys", "-t", "0", key], check=True)
            time.sleep(0.5)
        time.sleep(0.3)
        screen = subprocess.run(tmux + ["capture-pane", "-p", "-e", "-t", "0"], capture_output=True, text=True).stdout
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    render(parse(screen, (208, 208, 208), (0, 0, 0)), cols, a.out)
    print(f"wrote {a.out} ({cols}×{rows} cells)")


if __name__ == "__main__":
    main()
