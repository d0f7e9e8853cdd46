"""The built HTML book: it builds with warnings as errors, every chapter has its Colab
button, and no page shows an error or a traceback."""
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import nbtools  # noqa: E402


def toc_files():
    toc = yaml.safe_load((nbtools.ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(toc_files())
    for nb in nbtools.notebooks(("book",)):
        assert str(nb.relative_to(nbtools.ROOT).with_suffix("")) in listed, f"{nb.name} is not in _toc.yml"


def test_book_pages(built_book):
    url, branch = nbtools.repository()
    repo = url.split("github.com/", 1)[-1]
    for f in toc_files():
        page = built_book / (f + ".html")
        html = page.read_text()
        assert "Traceback (most recent call last)" not in html, f"{f}: shows a traceback"
        assert not re.search(r'class="[^"]*\boutput\b[^"]*\berror\b', html), f"{f}: shows an error output"
        if (nbtools.ROOT / (f + ".ipynb")).exists():
            assert f"colab.research.google.com/github/{repo}/blob/{branch}/{f}.ipynb" in html, \
                f"{f}: no Open-in-Colab button"


def test_pages_load_no_script_from_the_network(built_book):
    """Formulas (MathJax), quizzes and explorers work offline: every script comes from the book's files.
    MathJax (1.2 MB) is loaded once, deferred, on the pages with formulas, and not on chapters without."""
    toc = yaml.safe_load((nbtools.ROOT / "_toc.yml").read_text())
    for f in toc_files():
        html = (built_book / (f + ".html")).read_text()
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
        external = [s for s in scripts if re.match(r"(https?:)?//", s)]
        assert not external, f"{f}: loads scripts from the network: {external}"
        mathjax = [tag for tag in re.findall(r"<script[^>]*>", html) if "mathjax" in tag.lower() and "src=" in tag]
        if 'class="math notranslate' in html:
            assert len(mathjax) == 1 and "_static/mathjax/tex-mml-chtml.js" in mathjax[0], f"{f}: {mathjax}"
            assert 'defer="defer"' in mathjax[0], f"{f}: MathJax blocks the page: {mathjax[0]}"
        elif f != toc["root"]:   # Sphinx counts the formulas of every chapter below the root page
            assert not mathjax, f"{f} has no formulas but loads MathJax: {mathjax}"
    fonts = built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), "MathJax's fonts are missing from the built book"


def test_library_source_on_a_page_is_highlighted(built_book):
    """``show_source`` output reads like the code cells: a highlighted Python block, not grey text."""
    for nb in nbtools.notebooks(("book",)):
        if "show_source(" not in nb.read_text():
            continue
        html = (built_book / nb.relative_to(nbtools.ROOT).with_suffix(".html")).read_text()
        outputs = html.split('<div class="cell_output docutils container">')[1:]
        shown = [o for o in outputs if 'class="highlight-python notranslate"' in o.split("</div>\n</div>")[0]
                 and '<span class="k">def</span>' in o]
        assert shown, f"{nb.name}: show_source's output is not a highlighted Python block"
