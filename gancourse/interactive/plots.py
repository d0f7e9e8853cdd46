"""Small interactive plots for the chapters, drawn as SVG so that static frames stay tiny.

- :class:`LeakyReLUPlot`: a slider for the negative slope α; the function and its
  derivative, both computed by PyTorch (``F.leaky_relu`` and autograd).
- :class:`GeneratorLossPlot`: a slider for D(G(z)); the minimax and the non-saturating
  generator losses of :mod:`gancourse.losses` against D(G(z)), and the size of their
  gradient with respect to the discriminator's logit, which is what reaches the generator.

Both are :class:`~gancourse.interactive._frames.FrameView`s: live in a kernel, and in the
book one precomputed SVG group per slider position (21 and 25 frames; 23 KB and 20 KB
of HTML).
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from .. import losses
from ._common import esc, stable_id
from ._frames import Control, FrameView, slider

__all__ = ["LeakyReLUPlot", "GeneratorLossPlot"]

BLUE, RED, ORANGE, GREY = "#1f77b4", "#c62828", "#e07b00", "#666"


def _simplify(points):
    """Drop points that lie on the straight line through their neighbours (keeps SVG small)."""
    out = list(points[:1])
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = out[-1], points[i], points[i + 1]
        if abs((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) > 1e-6:
            out.append(points[i])
    return out + list(points[-1:]) if len(points) > 1 else out


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    n = int(round((hi - lo) / step))
    return [round(lo + i * step, 10) for i in range(n + 1)]


def _start_at(control: Control, value) -> Control:
    """The same slider with its default moved to ``value``, which must be one of its positions."""
    value = control.check(value)
    i = control.index_of(value)
    if abs(control.values[i] - value) > 1e-9:
        raise ValueError(f"{control.name} must be one of the slider positions "
                         f"{', '.join(control.labels)}; got {value!r}")
    return replace(control, default=i)


class _Axes:
    """One panel of an SVG figure: data limits, a pixel box, and drawing helpers."""

    def __init__(self, uid: str, box, xlim, ylim):
        self.uid, (self.x0, self.y0, self.w, self.h), self.xlim, self.ylim = uid, box, xlim, ylim

    def px(self, x: float) -> float:
        return self.x0 + (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * self.w

    def py(self, y: float) -> float:
        return self.y0 + self.h - (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * self.h

    def frame(self, title: str, xlabel: str, xticks, yticks, fmt="{:g}") -> str:
        parts = [f'<clipPath id="{self.uid}"><rect x="{self.x0}" y="{self.y0}" width="{self.w}" '
                 f'height="{self.h}"/></clipPath>']
        for t in xticks:
            x = self.px(t)
            parts.append(f'<line x1="{x:.1f}" y1="{self.y0}" x2="{x:.1f}" y2="{self.y0 + self.h}" stroke="#e3e3e3"/>'
                         f'<text x="{x:.1f}" y="{self.y0 + self.h + 14}" text-anchor="middle">{fmt.format(t)}</text>')
        for t in yticks:
            y = self.py(t)
            parts.append(f'<line x1="{self.x0}" y1="{y:.1f}" x2="{self.x0 + self.w}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                         f'<text x="{self.x0 - 5}" y="{y + 4:.1f}" text-anchor="end">{fmt.format(t)}</text>')
        if self.ylim[0] < 0 < self.ylim[1]:
            parts.append(f'<line x1="{self.x0}" y1="{self.py(0):.1f}" x2="{self.x0 + self.w}" y2="{self.py(0):.1f}" '
                         f'stroke="#999"/>')
        if self.xlim[0] < 0 < self.xlim[1]:
            parts.append(f'<line x1="{self.px(0):.1f}" y1="{self.y0}" x2="{self.px(0):.1f}" y2="{self.y0 + self.h}" '
                         f'stroke="#999"/>')
        parts.append(f'<rect x="{self.x0}" y="{self.y0}" width="{self.w}" height="{self.h}" fill="none" '
                     f'stroke="#888"/>'
                     f'<text x="{self.x0 + self.w / 2}" y="{self.y0 - 8}" text-anchor="middle" '
                     f'font-weight="bold">{esc(title)}</text>'
                     f'<text x="{self.x0 + self.w / 2}" y="{self.y0 + self.h + 30}" text-anchor="middle">'
                     f'{esc(xlabel)}</text>')
        return "".join(parts)

    def line(self, xs, ys, color: str, dash: str = "", width: float = 2.2) -> str:
        pts = _simplify([(round(self.px(x), 1), round(self.py(y), 1)) for x, y in zip(xs, ys)])
        d = " ".join(f"{x:g},{y:g}" for x, y in pts)
        dash = f' stroke-dasharray="{dash}"' if dash else ""
        return (f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="{width}"{dash} '
                f'clip-path="url(#{self.uid})"/>')

    def dot(self, x: float, y: float, color: str) -> str:
        return f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="5" fill="{color}" stroke="#fff"/>'

    def legend(self, entries, corner="top-left") -> str:
        x = self.x0 + 10 if corner.endswith("left") else self.x0 + self.w - 150
        y = self.y0 + 16 if corner.startswith("top") else self.y0 + self.h - 10 - 16 * (len(entries) - 1)
        out = []
        for i, (label, color, dash) in enumerate(entries):
            yy = y + 16 * i
            d = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{x}" y1="{yy - 4}" x2="{x + 22}" y2="{yy - 4}" stroke="{color}" '
                       f'stroke-width="2.2"{d}/><text x="{x + 28}" y="{yy}">{esc(label)}</text>')
        return "".join(out)


class _SvgPlot(FrameView):
    """A one-slider plot: a static SVG background plus one ``<g>`` per slider position."""

    mode = "svg"
    width, height = 640, 290

    def __init__(self, control: Control, value, title: str, alt: str, xlim, left_ylim, right_ylim):
        """One slider (starting at ``value``) and two panels sharing the x range."""
        self.controls = [_start_at(control, value)]
        self.values = self.defaults()
        self.title, self.alt = title, alt
        self.dom_id = stable_id("plot", f"{type(self).__name__}|{value}")
        self.left = _Axes(f"{self.dom_id}-l", (50, 28, 240, 190), xlim, left_ylim)
        self.right = _Axes(f"{self.dom_id}-r", (370, 28, 240, 190), xlim, right_ylim)

    def background(self) -> str:  # pragma: no cover - subclasses
        raise NotImplementedError

    def frame_svg(self, value: float) -> str:  # pragma: no cover
        raise NotImplementedError

    def svg(self, frames) -> str:
        """The figure with the given (index, value) frames; only the first is visible."""
        hidden = ' style="display:none"'
        groups = "".join(f'<g data-frame="{i}"{"" if k == 0 else hidden}>{self.frame_svg(v)}</g>'
                         for k, (i, v) in enumerate(frames))
        return (f'<svg class="gc-view" role="img" aria-label="{esc(self.describe(self.values))}" '
                f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
                f'width="{self.width}" height="{self.height}" font-family="sans-serif" font-size="11" '
                f'fill="#222">{self.background()}{groups}</svg>')

    @property
    def control(self):
        return self.controls[0]

    def set(self, **values) -> None:
        """Move the slider from code (validated) and redraw."""
        values = self.validate(values)
        self.values.update(values)
        if self._widget is not None:
            self._slider.value = self.values[self.control.name]

    def current_svg(self) -> str:
        return self.svg([(0, self.values[self.control.name])])

    def build_widget(self):
        import ipywidgets as w

        controls = self.control_widgets(self._update)
        self._slider = controls[self.control.name]
        self._plot = w.HTML(self.current_svg())
        return w.VBox([w.HTML(f"<strong>{esc(self.title)}</strong>"), self._slider, self._plot])

    def _update(self):
        self.values[self.control.name] = self._slider.value
        self._plot.value = self.current_svg()

    def html(self) -> str:
        c = self.control
        frames = [(self.frame_index(**s), s[c.name]) for s in self.frame_states()]
        frames.sort(key=lambda f: f[0] != 0)   # the default frame first: the one shown without script
        return self.frames_html(self.svg(frames), {"frames": len(frames)})

    def text(self) -> str:
        c = self.control
        return f"{self.title} ({c.label} from {c.labels[0]} to {c.labels[-1]}, now {self.values[c.name]:g})"


class LeakyReLUPlot(_SvgPlot):
    """LeakyReLU(x) and its derivative, with a slider for the negative slope α."""

    def __init__(self, alpha: float = 0.2):
        super().__init__(slider("alpha", "negative slope α", 0.0, 1.0, 0.05, 0.2, fmt="{:.2f}"), alpha,
                         "LeakyReLU and its derivative", "Plot of LeakyReLU(x) and its derivative",
                         (-3, 3), (-3.2, 3.2), (-0.1, 1.1))
        self.xs = torch.linspace(-3, 3, 121)

    @staticmethod
    def curves(alpha: float, xs: torch.Tensor):
        """(f(x), f'(x)) from PyTorch: the function and its autograd derivative."""
        x = xs.clone().requires_grad_(True)
        y = F.leaky_relu(x, negative_slope=float(alpha))
        (grad,) = torch.autograd.grad(y.sum(), x)
        return y.detach(), grad

    def background(self) -> str:
        return (self.left.frame("f(x) = LeakyReLU(x)", "x", _ticks(-3, 3, 1), _ticks(-3, 3, 1))
                + self.right.frame("derivative f′(x)", "x", _ticks(-3, 3, 1), _ticks(0, 1, 0.25)))

    def frame_svg(self, alpha: float) -> str:
        y, dy = self.curves(alpha, self.xs)
        xs = self.xs.tolist()
        return (self.left.line(xs, y.tolist(), BLUE) + self.right.line(xs, dy.tolist(), ORANGE)
                + f'<text x="{self.left.x0}" y="{self.height - 8}">α = {alpha:.2f}: f(x) = α·x and f′(x) = α '
                  f'for x &lt; 0; f(x) = x and f′(x) = 1 for x &gt; 0</text>')


class GeneratorLossPlot(_SvgPlot):
    """The minimax and non-saturating generator losses against D(G(z)), with a slider for D(G(z))."""

    def __init__(self, d: float = 0.1):
        super().__init__(slider("d", "D(G(z))", 0.02, 0.98, 0.04, 0.1, fmt="{:.2f}"), d,
                         "Generator losses against D(G(z))",
                         "Plot of the minimax and non-saturating generator losses", (0, 1), (-5.5, 5.5), (0, 1.05))
        self.ds = torch.linspace(0.005, 0.995, 199)

    @staticmethod
    def losses_and_grads(d: torch.Tensor):
        """For each D(G(z)) value: (minimax loss, non-saturating loss, their d loss / d logit).

        Each value is the loss of :mod:`gancourse.losses` on a one-element batch whose
        logit is log(D / (1 - D)); the gradients come from autograd.
        """
        logits = torch.log(d / (1 - d)).double()
        out = []
        for fn in (losses.g_loss_minimax, losses.g_loss_nonsaturating):
            vals, grads = [], []
            for lg in logits:
                x = lg.reshape(1).clone().requires_grad_(True)
                loss = fn(x)
                (g,) = torch.autograd.grad(loss, x)
                vals.append(loss.item())
                grads.append(g.item())
            out += [torch.tensor(vals, dtype=torch.float64), torch.tensor(grads, dtype=torch.float64)]
        mm, mm_grad, ns, ns_grad = out
        return mm, ns, mm_grad, ns_grad

    def background(self) -> str:
        mm, ns, mm_g, ns_g = self.losses_and_grads(self.ds)
        xs = self.ds.tolist()
        return (self.left.frame("generator loss", "D(G(z))", _ticks(0, 1, 0.25), _ticks(-4, 4, 2))
                + self.right.frame("|∂loss/∂logit| (signal to G)", "D(G(z))", _ticks(0, 1, 0.25),
                                   _ticks(0, 1, 0.25))
                + self.left.line(xs, mm.tolist(), RED, "6 4") + self.left.line(xs, ns.tolist(), BLUE)
                + self.right.line(xs, mm_g.abs().tolist(), RED, "6 4") + self.right.line(xs, ns_g.abs().tolist(), BLUE)
                + self.left.legend([("minimax log(1 − D)", RED, "6 4"), ("non-saturating −log D", BLUE, "")],
                                   "bottom-left"))

    def frame_svg(self, d: float) -> str:
        mm, ns, mm_g, ns_g = (float(t[0]) for t in self.losses_and_grads(torch.tensor([d])))
        x = self.left.px(d)
        return (f'<line x1="{x:.1f}" y1="{self.left.y0}" x2="{x:.1f}" y2="{self.left.y0 + self.left.h}" '
                f'stroke="{GREY}" stroke-dasharray="2 3"/>'
                + self.left.dot(d, mm, RED) + self.left.dot(d, ns, BLUE)
                + self.right.dot(d, abs(mm_g), RED) + self.right.dot(d, abs(ns_g), BLUE)
                + f'<text x="{self.left.x0}" y="{self.height - 8}">At D(G(z)) = {d:.2f}: loss minimax {mm:+.3f}, '
                  f'non-saturating {ns:+.3f}; |∂loss/∂logit| minimax {abs(mm_g):.2f}, '
                  f'non-saturating {abs(ns_g):.2f}</text>')
