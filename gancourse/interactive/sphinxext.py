"""Sphinx extension: ships the static rendering's script and style sheet with the book.

Enable it in the book's ``_config.yml`` (:data:`BOOK_CONFIG` is the exact block)::

    sphinx:
      extra_extensions:
        - gancourse.interactive.sphinxext

It adds ``gancourse/interactive/static`` to ``html_static_path`` and loads
``gancourse-interactive.js`` and ``gancourse-interactive.css`` on every HTML page (about
21 KB, cached once for the whole book; no network access at reading time). It also warns
(an error under ``-W``) when the HTML builders would prefer the widget-view mime type over
``text/html``: the interactive outputs would then render as empty widget placeholders.

Two fixes keep the browser console of every page free of errors under Jupyter Book 1.0.x:
a script registered twice with the same contents is written once (sphinx-thebe 0.3.1's inline
settings, ``const THEBE_JS_URL = ...``, arrive twice, and the second ``const`` is a
SyntaxError), and the theme's colour mode defaults to ``auto`` (with no default, a first visit
logs "Got invalid theme mode"; ``auto`` follows the reader's system setting, as before).
It does not touch the theme's look or any other setting.

On the pages that show an in-page GAN trainer (:func:`gancourse.interactive.toy_trainer`),
and only there, it also loads ``gancourse-toygan.js`` and ``.css``
(:func:`gancourse.interactive.toygan.add_page_assets`).

Pages whose latent explorers can run their generator in the page (a shipped model, see
:mod:`gancourse.interactive.explorer`) also get ``gancourse-generator.js`` (the interpreter)
and, per model, ``_static/gancourse-weights/<name>.js``, written at build time from the
shipped weights by :func:`gancourse.interactive.export.weights_script` (2.2-2.7 MB each,
float16 in base64). Other pages load neither: the marker is the
``data-gancourse-model`` attribute in the page's body, as MathJax is added only to pages
with maths.

It also folds the chapters' optional sections: a section whose heading starts with
"Going further" keeps its heading (and its opening paragraphs) visible, and the rest of
its content, cells and outputs included, goes into a ``<details>`` element that starts
closed and opens with a click, Enter or Space (``gancourse-going-further.css`` and
``.js``; the script opens it when a link points inside; the folding itself is
:mod:`gancourse.interactive.going_further`). In Jupyter or Colab the heading is all there
is: the notebook stays a plain notebook.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ._common import WIDGET_VIEW_MIME, static_dir
from .toygan import add_page_assets

__all__ = ["BOOK_CONFIG", "setup"]

# The settings the book needs, as they go into _config.yml (the browser test builds its
# throwaway book with exactly this block).
BOOK_CONFIG = f"""\
sphinx:
  extra_extensions:
    - gancourse.interactive.sphinxext
  config:
    # Widgets need a kernel; the book shows the text/html rendering of the same outputs.
    nb_mime_priority_overrides:
      - [html, {WIDGET_VIEW_MIME}, 35]
      - [dirhtml, {WIDGET_VIEW_MIME}, 35]
      - [singlehtml, {WIDGET_VIEW_MIME}, 35]
    # Never load the ipywidgets embed manager from a CDN (nothing on the page needs it).
    nb_ipywidgets_js: {{}}
"""


def _add_static_path(app) -> None:
    if app.builder.format != "html":
        return
    app.config.html_static_path.append(static_dir())
    try:
        from myst_nb.core.render import get_mime_priority
    except ImportError:  # pragma: no cover - the book always has MyST-NB
        return
    order = get_mime_priority(app.builder.name, app.config.nb_mime_priority_overrides)
    if WIDGET_VIEW_MIME in order and "text/html" in order and \
            order.index(WIDGET_VIEW_MIME) < order.index("text/html"):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            f"gancourse.interactive: the {app.builder.name!r} builder prefers {WIDGET_VIEW_MIME} to text/html, "
            f"so quizzes and explorers would show as empty widgets; add to _config.yml: "
            f"sphinx.config.nb_mime_priority_overrides: [[{app.builder.name}, {WIDGET_VIEW_MIME}, 35]]",
            type="gancourse", subtype="mime_priority")


# Themes built on pydata-sphinx-theme (Jupyter Book's sphinx-book-theme among them).
_PYDATA_THEMES = ("sphinx_book_theme", "pydata_sphinx_theme")


def _default_colour_mode(app, config) -> None:
    if config.html_theme in _PYDATA_THEMES:
        config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _one_of_each_script(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, kept = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        # the same file, or the same inline body (its filename is None or ""), with the same attributes
        key = (getattr(js, "filename", js) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


# An explorer whose generator can run in the page names its shipped model in an attribute,
# and the fingerprint of the weights it was made with in its data (sorted JSON, HTML-escaped:
# "fingerprint" comes before "model"); gancourse.interactive.explorer writes both.
_MODEL_MARKER = re.compile(r'data-gancourse-model="([A-Za-z0-9_.-]+)"')
_FINGERPRINT = re.compile(r'&quot;fingerprint&quot;:&quot;([0-9a-f]+)&quot;'
                          r'.*?&quot;model&quot;:&quot;([A-Za-z0-9_.-]+)&quot;')


def _weights_file(app, name: str):
    """Write ``_static/gancourse-weights/<name>.js`` once per build; (its path under ``_static``, fingerprint)."""
    rel = f"gancourse-weights/{name}.js"
    target = Path(app.outdir) / "_static" / rel
    # Once per build run (per process when Sphinx writes in parallel; the rename is atomic),
    # so a rebuild always writes the weights shipped now.
    if not hasattr(app, "_gancourse_weights"):
        app._gancourse_weights = {}
    written = app._gancourse_weights
    if name not in written:
        from ..pretrained import load
        from .export import fingerprint, weights_script
        try:
            generator = load(name)
            text, fp = weights_script(name, generator), fingerprint(generator)
        except Exception as err:  # noqa: BLE001 - any failure leaves the explorer on its frames
            _warn(f"cannot export the generator {name!r} for the page ({err}); its explorers keep their "
                  f"precomputed frames", "weights")
            written[name] = None
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, "utf-8")
        os.replace(tmp, target)
        written[name] = (rel, fp)
    return written[name]


def _warn(message: str, subtype: str) -> None:
    from sphinx.util import logging

    logging.getLogger(__name__).warning(f"gancourse.interactive: {message}", type="gancourse", subtype=subtype)


def _add_generators(app, pagename, templatename, context, doctree) -> None:
    """Only on pages with a live explorer: the interpreter and the weights of the models they use."""
    if app.builder.format != "html":
        return
    body = context.get("body") or ""
    names = sorted(set(_MODEL_MARKER.findall(body)))
    found = {n: _weights_file(app, n) for n in names}
    files = {n: f for n, f in found.items() if f}
    if not files:
        return
    for fp, name in _FINGERPRINT.findall(body):
        if name in files and files[name][1] != fp:
            _warn(f"{pagename}: an explorer was made with other weights of {name!r} than the shipped ones; "
                  f"it shows its precomputed frames until the page's notebook is executed again", "stale")
    # Before gancourse-interactive.js (priority 500): deferred scripts run in order, and the
    # explorers look for their model when that script starts them.
    app.builder.add_js_file("gancourse-generator.js", priority=450, defer="defer")
    for rel, _fp in files.values():
        app.builder.add_js_file(rel, priority=450, defer="defer")


def setup(app):
    # Imported here: it needs docutils, which only a Sphinx build has (BOOK_CONFIG and the
    # helpers above must import without it, as in the Colab-like environment of the tests).
    from .going_further import depart_going_further, fold_on_write, going_further, visit_going_further

    def _pass(self, node) -> None:
        pass

    app.add_js_file("gancourse-interactive.js", loading_method="defer")
    app.add_css_file("gancourse-interactive.css")
    app.add_js_file("gancourse-going-further.js", loading_method="defer")
    app.add_css_file("gancourse-going-further.css")
    app.add_node(going_further, html=(visit_going_further, depart_going_further),
                 latex=(_pass, _pass), text=(_pass, _pass), man=(_pass, _pass), texinfo=(_pass, _pass))
    app.connect("doctree-resolved", fold_on_write)
    app.connect("builder-inited", _add_static_path)
    app.connect("config-inited", _default_colour_mode)
    app.connect("html-page-context", add_page_assets)                    # the trainer's page only
    app.connect("html-page-context", _add_generators)                    # pages with live explorers only
    app.connect("html-page-context", _one_of_each_script, priority=900)   # after the others add theirs
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
