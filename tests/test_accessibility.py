"""Figures described for every reader: each chapter figure carries alt text that says what
it shows, in the notebook (MyST-NB's cell metadata) and in the built HTML.

The browser checks of the same pages (axe-core, the keyboard) are in ``test_browser.py``.
"""
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import nbtools  # noqa: E402

IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
CHAPTERS = nbtools.notebooks(("book",))

# What an alt text must not be: a file name or path, a hash, or a word or two.
FILE_LIKE = re.compile(r"\.(png|jpe?g|gif|svg|webp)\b|_images/|[0-9a-f]{12,}", re.I)
MIN_WORDS = 6


def alt_problem(alt) -> str | None:
    """Why ``alt`` is not a description of a figure (None when it is one)."""
    if not isinstance(alt, str) or not alt.strip():
        return "no alt text"
    if FILE_LIKE.search(alt):
        return f"alt text is a file name, path or hash: {alt!r}"
    if len(alt.split()) < MIN_WORDS:
        return f"alt text of fewer than {MIN_WORDS} words says too little: {alt!r}"
    if not alt[0].isupper() or not alt.rstrip().endswith("."):
        return f"alt text should be sentences (a capital first, a full stop last): {alt!r}"
    return None


def figure_cells(nb: dict):
    """(index, cell, number of image outputs) for every code cell whose outputs hold an image."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        n = sum(1 for o in cell.get("outputs", []) if any(m in o.get("data", {}) for m in IMAGE_MIMES))
        if n:
            yield i, cell, n


def mystnb(cell: dict) -> dict:
    return cell.get("metadata", {}).get("mystnb", {})


def test_alt_problem_rejects_what_a_screen_reader_should_not_read():
    assert alt_problem(None) == "no alt text" and alt_problem("  ") == "no alt text"
    assert "file name" in alt_problem("../_images/440e08a1b2c3d4e5f6a7b8c9d0e1f2a3.png")
    assert "file name" in alt_problem("A plot saved as loss_curve.png for the chapter.")
    assert "fewer than" in alt_problem("A loss curve.")
    assert "sentences" in alt_problem("loss of D and G over 500 steps; D's loss settles near 1.3")
    assert alt_problem("Loss of D and G over 500 steps; D's loss settles near 1.3.") is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_figure_has_alt_text(path):
    """Every image a chapter shows has alt text in its cell's metadata (MyST-NB puts it on the <img>)."""
    nb = nbtools.load(path)
    problems = []
    for i, cell, _ in figure_cells(nb):
        meta = mystnb(cell)
        why = alt_problem(meta.get("image", {}).get("alt"))
        if why:
            problems.append(f"cell {i} (id {cell.get('id')}): {why}")
        if "figure" in meta and not str(meta["figure"].get("caption", "")).strip():
            problems.append(f"cell {i} (id {cell.get('id')}): mystnb.figure without a caption")
    assert not problems, (f"{path.name}: set metadata.mystnb.image.alt to a sentence saying what the figure "
                          "shows, with the numbers a reader would read off it:\n" + "\n".join(problems))


class _Images(HTMLParser):
    """The <img> elements of a page, and the <figcaption> texts."""

    def __init__(self):
        super().__init__()
        self.images, self.captions, self._in_caption = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "figcaption":
            self._in_caption += 1
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption -= 1

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


def test_built_pages_describe_every_figure(built_book):
    """In the built HTML every output image has the notebook's alt text, not its file name."""
    problems = []
    for path in CHAPTERS:
        nb = nbtools.load(path)
        expected, captions = [], []
        for _, cell, n in figure_cells(nb):
            expected += [mystnb(cell).get("image", {}).get("alt")] * n
            caption = mystnb(cell).get("figure", {}).get("caption")
            if caption:
                captions += [caption] * n
        page = built_book / "book" / (path.stem + ".html")
        parser = _Images()
        parser.feed(page.read_text("utf-8"))
        outputs = [img for img in parser.images if "_images/" in img.get("src", "")]
        shown = [img.get("alt") for img in outputs]
        for img in parser.images:
            why = alt_problem(img.get("alt")) if "_images/" in img.get("src", "") else \
                (None if (img.get("alt") or "").strip() else "no alt text")
            if why:
                problems.append(f"{page.name}: <img src={img.get('src')!r}>: {why}")
        if shown != expected:
            problems.append(f"{page.name}: the page's output images carry {shown!r}, the notebook's metadata "
                            f"{expected!r}")
        for caption in captions:
            if not any(caption.strip() in " ".join(c.split()) for c in parser.captions):
                problems.append(f"{page.name}: no <figcaption> with {caption!r}")
    assert not problems, "\n".join(problems)
