"""The book's Sphinx extension folds optional "Going further" sections: a tiny MyST-NB book,
built with Sphinx, keeps the section's heading and opening paragraph visible and puts its
cells, outputs and subsections, in order, into one closed <details> element."""
import json
import re

import pytest

sphinx = pytest.importorskip("sphinx.application")
pytest.importorskip("myst_nb")

from gancourse.interactive import going_further  # noqa: E402  (needs docutils, as Sphinx does)


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, output):
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": text,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": output}]}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    src = tmp_path_factory.mktemp("book")
    cells = [_md("# A chapter\n\nThe main line."), _code("print('main')", "main line output\n"),
             _md("## Going further (optional)\n\nWhat the optional part holds."),
             _code("print('optional')", "optional output\n"),
             _md("### First detour\n\nDetour text."), _code("print('detour')", "detour output\n"),
             _md("### Second detour\n\nMore text."),
             _md("## Summary\n\nThe summary stays outside.")]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (src / "index.ipynb").write_text(json.dumps(nb))
    (src / "conf.py").write_text("extensions = ['myst_nb', 'gancourse.interactive.sphinxext']\n"
                                 "nb_execution_mode = 'off'\n")
    out = src / "_build"
    app = sphinx.Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html",
                        status=None, warning=None, freshenv=True)
    app.build()
    return (out / "index.html").read_text(), out


def test_going_further_section_is_folded_with_its_cells_inside(page):
    html, _ = page
    assert html.count('<details class="gancourse-going-further">') == 1
    before, folded = html.split('<details class="gancourse-going-further">')
    folded, after = folded.split("</details>", 1)
    assert "Going further (optional)" in before and "What the optional part holds." in before
    assert "main line output" in before
    summary = re.search(r"<summary>(.*?)</summary>", folded).group(1)
    assert summary == "Optional section: First detour; Second detour"
    for text in ("optional output", "Detour text.", "detour output", "More text."):
        assert text in folded, text
    assert folded.index("optional output") < folded.index("detour output") < folded.index("More text.")
    assert "The summary stays outside." in after and "The summary stays outside." not in folded


def test_subsections_keep_their_anchors_and_the_script_ships(page):
    html, out = page
    assert 'id="first-detour"' in html                      # links into the fold still have a target
    assert "gancourse-going-further.js" in html and "gancourse-going-further.css" in html
    assert (out / "_static" / "gancourse-going-further.js").exists()


def test_fold_leaves_other_sections_alone():
    from docutils import nodes

    doc = nodes.document(None, None)
    plain = nodes.section("", nodes.title(text="Summary"), nodes.paragraph(text="x"),
                          nodes.container("", nodes.paragraph(text="cell")))
    doc += plain
    assert going_further.fold_going_further(doc) == 0
    assert not list(doc.findall(going_further.going_further))
