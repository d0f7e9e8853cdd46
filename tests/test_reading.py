"""The notebooks read well at the book's column width, checked on the committed files.

At 1366 px the book's text column is 757 px wide. There, with the book's 13 px code font
(_assets/book-layout.css), a code box shows 90 columns and an output box 93; the notebooks
keep code and printed output to 88 (the width ``black`` and most style guides use).

A figure wider than the column is shrunk to it, text and all. With the course style
(``set_plot_style``: 100 dpi, 10 pt text) a figure up to 1051 px wide keeps 10 pt text at
10 px or more on screen; smaller explicit font sizes need a narrower figure. The browser
tests check the built pages (no page scrolls sideways, no code box overflows); these
tests check the sources, one notebook at a time, so a failure names the cell.
"""
import base64
import re
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import nbtools  # noqa: E402

ALL = nbtools.notebooks()
# the code-width check also reads the test suite's own notebooks (the grading fixture)
CODE = ALL + sorted((nbtools.ROOT / "tests").rglob("*.ipynb"))
BOOK = nbtools.notebooks(("book",))
COLUMNS = 88          # longest code or output line, in characters
COLUMN_PX = 757       # the text column at 1366 px
MIN_TEXT_PX = 10      # smallest figure text on screen
STYLE_DPI, STYLE_PT = 100, 10  # set_plot_style's figure.dpi and font.size

# An explicit font size in a cell: fontsize=8, labelsize=8, size=8 (not kernel_size=8),
# "font.size": 8, or a relative size such as fontsize="small".
_FONT_ARG = re.compile(r"(?<![\w.])(?:fontsize|labelsize|titlesize|size)\s*=\s*"
                       r"(?:(\d+(?:\.\d+)?)|[\"'](xx-small|x-small|small)[\"'])")
_FONT_RC = re.compile(r"[\"']font\.size[\"']\s*:\s*(\d+(?:\.\d+)?)")
_RELATIVE = {"xx-small": 0.579, "x-small": 0.694, "small": 0.833}
_DPI = re.compile(r"(?<![\w.])dpi\s*=\s*(\d+)")


def _ids(paths):
    return [str(p.relative_to(nbtools.ROOT)) for p in paths]


def _code_cells(nb):
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            yield i, cell


def _fenced_lines(markdown) -> list[str]:
    """The lines inside the code fences of a Markdown text (prose lines wrap; code does not)."""
    markdown = markdown if isinstance(markdown, str) else "".join(markdown)
    lines, fence = [], None
    for line in markdown.split("\n"):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:len(stripped) - len(stripped.lstrip(stripped[0]))]
        elif fence is not None and stripped.startswith(fence) and not stripped.strip(fence[0]):
            fence = None
        elif fence is not None:
            lines.append(line)
    return lines


def smallest_font_pt(source: str) -> float:
    """The smallest font size a cell's code asks for, in points (the style's 10 pt if none).

    Sizes over 40 are taken for something else (a ``size=128`` batch, say)."""
    sizes = [STYLE_PT]
    for number, word in _FONT_ARG.findall(source):
        sizes.append(float(number) if number else STYLE_PT * _RELATIVE[word])
    sizes += [float(n) for n in _FONT_RC.findall(source)]
    return min(s for s in sizes if s <= 40)


def png_width(data: str) -> int:
    raw = base64.b64decode(data)
    return struct.unpack(">I", raw[16:20])[0]


def text_px_on_screen(font_pt: float, png_px: int, dpi: int = STYLE_DPI) -> float:
    """Screen pixels of ``font_pt`` text in a figure saved ``png_px`` wide, shown in the column."""
    return font_pt * dpi / 72 * min(1.0, COLUMN_PX / png_px)


def test_font_rules_read_cells_as_meant():
    assert smallest_font_pt("ax.set_title('x', fontsize=8)\nconv(kernel_size=3)") == 8
    assert smallest_font_pt("torch.randint(10, size=128)") == STYLE_PT
    assert smallest_font_pt('ax.legend(fontsize="small")') == pytest.approx(8.33)
    assert smallest_font_pt('plt.rcParams.update({"font.size": 7})') == 7
    assert text_px_on_screen(10, 757) == pytest.approx(13.89, abs=0.01)
    assert text_px_on_screen(10, 1051) >= MIN_TEXT_PX > text_px_on_screen(10, 1060)
    md = "Some prose " + "x" * 100 + "\n````python\ncode = 1\n```\nstill code\n````\nafter"
    assert _fenced_lines(md) == ["code = 1", "```", "still code"]


@pytest.mark.parametrize("path", CODE, ids=_ids(CODE))
def test_code_lines_fit_the_column(path):
    nb = nbtools.load(path)
    long = [f"cell {i}, line {n}: {len(line)} columns"
            for i, cell in _code_cells(nb)
            for n, line in enumerate(nbtools.cell_source(cell).split("\n"), 1) if len(line) > COLUMNS]
    assert not long, f"{path.name}: code lines longer than {COLUMNS} columns:\n" + "\n".join(long)


@pytest.mark.parametrize("path", BOOK, ids=_ids(BOOK))
def test_printed_outputs_fit_the_column(path):
    """Printed text (streams, plain-text results, and the code blocks of Markdown results such
    as ``show_source``'s) stays within the column; HTML tables and widgets are checked in the
    browser."""
    nb = nbtools.load(path)
    long = []
    for i, cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out.get("output_type") == "stream":
                text = out.get("text", "")
            elif "text/markdown" in data:
                text = "\n".join(_fenced_lines(data["text/markdown"]))
            elif "text/plain" in data and not ({"text/html", "image/png", "text/markdown"} & set(data)) \
                    and "application/vnd.jupyter.widget-view+json" not in data:
                text = data["text/plain"]
            else:
                continue
            text = text if isinstance(text, str) else "".join(text)
            long += [f"cell {i}: {len(line)} columns: {line[:60]}…"
                     for line in text.split("\n") if len(line) > COLUMNS]
    assert not long, f"{path.name}: printed lines longer than {COLUMNS} columns:\n" + "\n".join(long)


@pytest.mark.parametrize("path", BOOK, ids=_ids(BOOK))
def test_figure_text_is_legible_in_the_column(path):
    nb = nbtools.load(path)
    small = []
    for i, cell in _code_cells(nb):
        src = nbtools.cell_source(cell)
        pt = smallest_font_pt(src)
        dpi = int(m.group(1)) if (m := _DPI.search(src)) else STYLE_DPI
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                width = png_width(out["data"]["image/png"])
                px = text_px_on_screen(pt, width, dpi)
                if px < MIN_TEXT_PX:
                    small.append(f"cell {i}: a {width} px figure with {pt:g} pt text shows it at {px:.1f} px")
    assert not small, (f"{path.name}: figure text under {MIN_TEXT_PX} px on screen "
                       f"(make the figure narrower, split its panels, or use a larger font):\n" + "\n".join(small))
