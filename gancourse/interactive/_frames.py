"""Controls and precomputed frames: what the latent explorer and the small plots share.

A component declares its controls once (:class:`Control`). In a kernel they become
ipywidgets sliders and drop-downs and every change re-renders live. For the static book
the component renders one *frame* per control position and the page's script shows the
frame that matches the controls.

Frames are laid out "one control at a time": frame 0 has every control at its default,
then, control after control, one frame for each of its other positions. Moving a control
on the static page puts the others back to their defaults (the page says so). A full grid
would need the product of all positions (11 x 11 x 13^3 = 265,837 for the default
explorer), the one-at-a-time layout needs their sum (57). An optional *product* control
(the class of a conditional generator) multiplies the frames: every class gets its own
block of frames, so the class combines with any other control.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._common import DualView, description, esc, inline, json_attr

__all__ = ["Control", "slider", "choice", "FrameView"]


@dataclass(frozen=True)
class Control:
    """One control: its positions (``values``, shown as ``labels``) and the default position."""

    name: str
    label: str
    values: tuple
    labels: tuple
    default: int
    kind: str = "slider"      # "slider" (numbers, in order) or "choice" (a drop-down)

    def index_of(self, value) -> int:
        """The position nearest to ``value`` (sliders) or equal to it (choices)."""
        if self.kind == "choice":
            return self.values.index(value)
        return min(range(len(self.values)), key=lambda i: abs(self.values[i] - value))

    @property
    def step(self) -> float:
        return self.values[1] - self.values[0] if len(self.values) > 1 else 1.0

    def check(self, value):
        """Validate a value given from code; return it as the control's type."""
        if self.kind == "choice":
            if isinstance(value, bool) or value not in self.values:
                raise ValueError(f"{self.name} must be one of {list(self.values)}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"{self.name} must be a number in [{self.values[0]}, {self.values[-1]}], got {value!r}")
        lo, hi = self.values[0], self.values[-1]
        if not lo - 1e-9 <= value <= hi + 1e-9:
            raise ValueError(f"{self.name} must lie in [{lo}, {hi}], got {value!r}")
        return type(self.values[0])(value)


def slider(name: str, label: str, start: float, stop: float, step: float, default: float,
           fmt: str = "{:.1f}", integer: bool = False) -> Control:
    """A slider from ``start`` to ``stop`` (inclusive) in ``step``s; ``default`` must be a position."""
    n = int(round((stop - start) / step)) + 1
    if integer:
        values = tuple(int(start) + i * int(step) for i in range(n))
    else:
        values = tuple(round(start + i * step, 10) for i in range(n))
    c = Control(name, label, values, tuple(fmt.format(v) for v in values), 0)
    default_index = c.index_of(default)
    if abs(values[default_index] - default) > 1e-9:
        raise ValueError(f"{name}: the default {default} is not one of the slider's positions {values}")
    return Control(name, label, values, c.labels, default_index)


def choice(name: str, label: str, values, labels, default) -> Control:
    values, labels = tuple(values), tuple(str(x) for x in labels)
    return Control(name, label, values, labels, values.index(default), kind="choice")


class FrameView(DualView):
    """Base class of components that render frames for a set of controls.

    Subclasses set ``controls`` (a list of :class:`Control`), ``product`` (a choice
    Control or None), ``title``, ``alt`` (the accessible name of the picture) and
    ``dom_id``, and implement ``render_frames(states)`` for the static page and the
    live update of their widget.
    """

    controls: list
    product: Control | None = None
    title: str = ""
    alt: str = "Picture"
    mode: str = "sprite"   # or "svg"

    # ---------------------------------------------------------------- states
    def defaults(self) -> dict:
        """The value of every control at its default position."""
        out = {c.name: c.values[c.default] for c in self.controls}
        if self.product is not None:
            out[self.product.name] = self.product.values[self.product.default]
        return out

    def block_states(self) -> list[dict]:
        """The control values of each frame of one block, in the page's frame order."""
        base = {c.name: c.values[c.default] for c in self.controls}
        states = [dict(base)]
        for c in self.controls:
            for j, v in enumerate(c.values):
                if j != c.default:
                    states.append({**base, c.name: v})
        return states

    def frame_states(self) -> list[dict]:
        """Every frame's control values: one block per product value (or a single block)."""
        block = self.block_states()
        if self.product is None:
            return block
        return [{**s, self.product.name: p} for p in self.product.values for s in block]

    def frame_index(self, **values) -> int:
        """The index of the frame the static page shows for these control values."""
        idx = {c.name: c.index_of(values.get(c.name, c.values[c.default])) for c in self.controls}
        moved = [c for c in self.controls if idx[c.name] != c.default]
        if len(moved) > 1:
            raise ValueError(f"the static page moves one control at a time; {[c.name for c in moved]} all moved")
        frame, offset = 0, 1
        for c in self.controls:
            if c in moved:
                j = idx[c.name]
                frame = offset + (j if j < c.default else j - 1)
            offset += len(c.values) - 1
        if self.product is not None:
            p = self.product.index_of(values.get(self.product.name, self.product.values[self.product.default]))
            frame += p * offset
        return frame

    def validate(self, values: dict) -> dict:
        """Check control values given from code (names, kinds and ranges)."""
        known = {c.name: c for c in self.controls}
        if self.product is not None:
            known[self.product.name] = self.product
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this {type(self).__name__} has {sorted(known)}")
        return {k: known[k].check(v) for k, v in values.items()}

    # ----------------------------------------------------------------- static
    def describe(self, values: dict) -> str:
        parts = []
        for c in ([self.product] if self.product is not None else []) + list(self.controls):
            parts.append(f"{c.label} {c.labels[c.index_of(values[c.name])]}")
        return f"{self.alt} ({', '.join(parts)})"

    def page_data(self, extra: dict) -> dict:
        data = {"alt": self.alt, "mode": self.mode,
                "controls": [{"name": c.name, "label": c.label, "labels": list(c.labels), "default": c.default}
                             for c in self.controls],
                "frames_per_block": len(self.block_states()), "product": None}
        if self.product is not None:
            p = self.product
            data["product"] = {"name": p.name, "label": p.label, "labels": list(p.labels), "default": p.default}
        data.update(extra)
        return data

    def frames_note(self, note: str = "") -> str:
        """``note``, plus the sentence saying that one slider moves at a time (when there are several)."""
        if len(self.controls) > 1:
            note = (note + " " if note else "") + ("On this static page one slider moves at a time (the others "
                                                   "return to their defaults); run the notebook to combine them.")
        return note

    def frames_html(self, view_html: str, extra: dict, note: str = "", controls_extra: str = "",
                    one_at_a_time: bool = True, attrs: str = "") -> str:
        """The static markup: labelled controls, the picture, a note.

        ``controls_extra`` (markup) goes after the controls; ``one_at_a_time=False`` leaves
        out the note that one slider moves at a time (the page runs the generator); ``attrs``
        (markup) are more attributes of the outer element.
        """
        rows = []
        if self.product is not None:
            p, pid = self.product, f"{self.dom_id}-{self.product.name}"
            opts = "".join(f'<option value="{i}"{" selected" if i == p.default else ""}>{esc(lab)}</option>'
                           for i, lab in enumerate(p.labels))
            rows.append(f'<label for="{pid}">{inline(p.label)}</label><select id="{pid}" '
                        f'data-control="{p.name}">{opts}</select><span></span>')
        for c in self.controls:
            cid = f"{self.dom_id}-{c.name}"
            rows.append(f'<label for="{cid}">{inline(c.label)}</label>'
                        f'<input type="range" id="{cid}" data-control="{c.name}" min="0" max="{len(c.values) - 1}" '
                        f'step="1" value="{c.default}" aria-valuetext="{esc(c.labels[c.default])}">'
                        f'<output data-for="{c.name}" for="{cid}">{esc(c.labels[c.default])}</output>')
        if one_at_a_time:
            note = self.frames_note(note)
        title = f'<p class="gc-frames-title">{inline(self.title)}</p>' if self.title else ""
        data = json_attr(self.page_data(extra))
        return (f'<div class="gc-frames" id="{self.dom_id}"{attrs} data-gancourse-frames="{data}">'
                f'{title}<div class="gc-frames-body"><div class="gc-controls">{"".join(rows)}{controls_extra}</div>'
                f'{view_html}</div>'
                + (f'<p class="gc-frames-note">{inline(note)}</p>' if note else "") + "</div>")

    # ---------------------------------------------------------------- widgets
    def control_widgets(self, on_change) -> dict:
        """ipywidgets for the controls (same labels, ranges and steps); ``on_change()`` runs after each change."""
        import ipywidgets as w

        out = {}
        wide = {"description_width": "9em"}   # one width, so that the slider tracks line up
        if self.product is not None:
            p = self.product
            out[p.name] = w.Dropdown(options=list(zip(p.labels, p.values)), value=p.values[p.default],
                                     description=description(p.label), style=wide)
        for c in self.controls:
            common = dict(min=c.values[0], max=c.values[-1], step=c.step, value=c.values[c.default],
                          description=description(c.label), style=wide, continuous_update=True,
                          layout=w.Layout(width="34em"))
            if isinstance(c.values[0], int):
                out[c.name] = w.IntSlider(**common)
            else:
                decimals = max(0, -int(math.floor(math.log10(c.step)))) if c.step < 1 else 1
                out[c.name] = w.FloatSlider(readout_format=f".{decimals}f", **common)
        for widget in out.values():
            widget.observe(lambda _change: on_change(), "value")
        return out
