"""What every interactive component shares: HTML escaping, stable element ids, and the
``_repr_mimebundle_`` that gives a kernel the live widget and the book its HTML.

A component subclasses :class:`DualView` and provides three renderings of one
definition: :meth:`DualView.build_widget` (ipywidgets, live in a kernel),
:meth:`DualView.html` (self-describing markup that ``static/gancourse-interactive.js``
brings to life in the built book) and :meth:`DualView.text` (plain text, for terminals
and for nbval's comparison of committed outputs).
"""
from __future__ import annotations

import hashlib
import html as _html
import json
import re
from collections import Counter
from importlib import resources

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

_ids: Counter = Counter()


def esc(text) -> str:
    """HTML-escape ``text`` (quotes included, so it is safe inside attributes)."""
    return _html.escape(str(text), quote=True)


_CODE_SPAN = re.compile(r"`([^`]+)`")


def inline(text: str) -> str:
    """Escape plain text and turn `backtick spans` into ``<code>`` elements.

    This is the only markup that quiz text and control labels may use; the same HTML
    goes into the widgets and into the static page, so both show the same text.
    """
    return _CODE_SPAN.sub(r"<code>\1</code>", esc(text))


def plain(text: str) -> str:
    """The words of ``text`` as :func:`inline` shows them, without markup (backticks dropped)."""
    return _CODE_SPAN.sub(r"\1", text)


def stable_id(kind: str, payload: str) -> str:
    """An element id that depends on the content, not on chance.

    Committed notebook outputs are compared by nbval, so ids must not be random. The
    same content shown twice in one kernel gets ``-2``, ``-3``... so ids stay unique
    on the page.
    """
    digest = hashlib.sha1(payload.encode("utf-8")).hexdigest()[:8]
    key = f"gc-{kind}-{digest}"
    _ids[key] += 1
    return key if _ids[key] == 1 else f"{key}-{_ids[key]}"


def json_attr(obj) -> str:
    """JSON for a ``data-*`` attribute: compact, sorted (stable), HTML-escaped."""
    return esc(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def static_asset(name: str) -> str:
    """The text of a file in ``gancourse/interactive/static``."""
    return resources.files("gancourse.interactive").joinpath("static", name).read_text("utf-8")


def static_dir() -> str:
    """The folder holding the book's JavaScript and CSS (added to Sphinx by :mod:`.sphinxext`)."""
    return str(resources.files("gancourse.interactive").joinpath("static"))


def description(text: str) -> str:
    """``text`` as a widget's ``description``, shown as the same plain text in ipywidgets 7 and 8.

    ipywidgets 8 shows a description as text. ipywidgets 7 (Colab's runtime) puts it into the
    page as HTML, so there a ``<`` or ``&`` in a label would be read as markup: it is escaped.
    """
    import ipywidgets

    return esc(text) if int(ipywidgets.__version__.split(".")[0]) < 8 else text


def widget_view(widget) -> dict | None:
    """The ``application/vnd.jupyter.widget-view+json`` entry that displays ``widget``, or None.

    Works with ipywidgets 7 and 8 alike. ipywidgets 8 puts this entry in
    ``Widget._repr_mimebundle_``; ipywidgets 7 (Colab's runtime ships 7.7) has no such method
    and publishes the entry from ``_ipython_display_`` instead. Both versions return the same
    entry from ``get_view_spec()``, which is used here. A widget with no view (``_view_name``
    None) or a closed one (no comm) has no entry, so the bundle falls back to HTML and text.
    """
    if getattr(widget, "_view_name", None) is None or getattr(widget, "comm", None) is None:
        return None
    return widget.get_view_spec()


class DualView:
    """Base class: one object, shown as a live widget in a kernel and as HTML in the book.

    Its display bundle holds ``application/vnd.jupyter.widget-view+json`` (the live
    widget), ``text/html`` (the static rendering) and ``text/plain``. JupyterLab,
    Notebook 7, VS Code and Colab show exactly one entry of a bundle, the widget first
    when a widget manager is present; the book's ``nb_mime_priority_overrides`` makes
    MyST-NB pick ``text/html`` instead (see the package docstring).
    """

    _widget = None

    def build_widget(self):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def html(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def text(self) -> str:  # pragma: no cover
        raise NotImplementedError

    @property
    def widget(self):
        """The ipywidgets rendering, built on first use and then reused."""
        if self._widget is None:
            self._widget = self.build_widget()
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": self.text(), "text/html": self.html()}
        try:
            import ipywidgets  # noqa: F401
        except ImportError:  # the book and plain Python still get HTML and text
            pass
        else:
            view = widget_view(self.widget)
            if view is not None:
                data[WIDGET_VIEW_MIME] = view
        if include:
            data = {k: v for k, v in data.items() if k in include}
        if exclude:
            data = {k: v for k, v in data.items() if k not in exclude}
        return data

    def __repr__(self) -> str:
        return self.text()


def is_style_based(generator) -> bool:
    """True when the generator follows the mapping/synthesis protocol of the latent explorer
    (``gancourse.stylegan``): the explorer and the page's exporter both ask."""
    return callable(getattr(generator, "mapping", None)) and callable(getattr(generator, "synthesis", None))
