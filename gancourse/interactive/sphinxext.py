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
"""
from __future__ import annotations

from ._common import WIDGET_VIEW_MIME, static_dir

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


def setup(app):
    app.add_js_file("gancourse-interactive.js", loading_method="defer")
    app.add_css_file("gancourse-interactive.css")
    app.connect("builder-inited", _add_static_path)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
