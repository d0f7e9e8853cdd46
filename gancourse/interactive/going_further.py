"""The folding of optional "Going further" sections in the HTML book (used by :mod:`.sphinxext`).

Holds the docutils node that becomes a closed ``<details>`` element, its HTML writer
functions, and :func:`fold_going_further`, which moves everything of such a section after
its heading and opening paragraphs into that node. It needs docutils, so only a Sphinx
build imports it. It holds no CSS or JavaScript (``static/gancourse-going-further.*``).
"""
from __future__ import annotations

from docutils import nodes

from ._common import esc

__all__ = ["GOING_FURTHER", "going_further", "going_further_summary", "fold_going_further"]

# A section whose title starts with these words is optional: folded in the HTML book.
GOING_FURTHER = "Going further"


class going_further(nodes.General, nodes.Element):
    """The folded part of a "Going further" section: ``<details>`` in HTML, transparent elsewhere."""


def visit_going_further(self, node) -> None:
    self.body.append('<details class="gancourse-going-further">'
                     f'<summary>{esc(node["summary"])}</summary>\n<div class="gancourse-going-further-body">\n')


def depart_going_further(self, node) -> None:
    self.body.append("</div></details>\n")


def going_further_summary(section) -> str:
    """The text of the fold's button: what the optional section holds (its subsection titles)."""
    parts = [child[0].astext() for child in section.children
             if isinstance(child, nodes.section) and len(child) and isinstance(child[0], nodes.title)]
    return "Optional section" + (": " + "; ".join(parts) if parts else " (click to open)")


def fold_going_further(doctree) -> int:
    """Fold every "Going further" section of ``doctree``; returns how many were folded.

    The title and the paragraphs right after it stay visible; everything from the first other
    element on (cells, outputs, subsections) moves, in order, into one :class:`going_further`
    node. Runs after the table of contents and the section numbers are collected, so the
    subsections keep their numbers and their entries in the page's contents.
    """
    folded = 0
    for section in list(doctree.findall(nodes.section)):
        if not (len(section) and isinstance(section[0], nodes.title)
                and section[0].astext().strip().startswith(GOING_FURTHER)):
            continue
        start = 1
        while start < len(section) and isinstance(section[start], nodes.paragraph):
            start += 1
        if start == len(section):
            continue
        body = going_further(summary=going_further_summary(section))
        for child in list(section.children[start:]):
            section.remove(child)
            body += child
        section += body
        folded += 1
    return folded


def fold_on_write(app, doctree, docname) -> None:
    if app.builder.format == "html":
        fold_going_further(doctree)
