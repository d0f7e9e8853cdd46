"""A 2-D GAN that trains in the reader's browser: :func:`toy_trainer` and :class:`ToyTrainer`.

The page's script, ``static/gancourse-toygan.js``, trains a small generator and
discriminator on the ring of Gaussians of :mod:`gancourse.toy`, step by step, with no kernel
and no network: two ReLU MLPs in ``Float32Array`` s with a hand-written backward pass, the
course's losses as functions of the logits, and PyTorch's Adam. One step is what
:class:`gancourse.train.Trainer` does: :func:`~gancourse.train.d_step`, then
:func:`~gancourse.train.g_step`. ``tests/test_toygan.py`` checks one step of the script
against PyTorch's (losses, every parameter gradient, Adam's update).

Why plain JavaScript and no tensor library: the networks are small MLPs, so the forward and
backward passes of Linear and ReLU layers are a few short loops, checked exactly; a library
such as TensorFlow.js would add about a megabyte to the page for layers this page does not
need, and floating-point behaviour of its own to account for.

This module holds the Python side only: it reads the architecture sizes from the chapter's
own networks and the optimiser settings from its :class:`~gancourse.train.TrainConfig`,
refuses what the script cannot compute exactly (other activations, other losses, label
smoothing, ...), and writes the HTML: a description, the settings as JSON for the script, and
what is the same as the PyTorch run and what differs. The built book loads the script and
its style sheet only on pages that show a trainer (:func:`add_page_assets`, connected by
:mod:`.sphinxext`).

In a kernel the object shows the same HTML, where no script runs: Jupyter and Colab do not
load the book's files. :meth:`ToyTrainer.live` returns the HTML with the script and style
sheet inlined, for front ends that run scripts in outputs (Colab does; JupyterLab does for
trusted notebooks); :meth:`ToyTrainer.standalone_html` writes a page to open in a browser.
"""
from __future__ import annotations

import json

from .. import toy
from ._common import esc, json_attr, stable_id, static_asset

__all__ = ["ToyTrainer", "toy_trainer", "PAGE_LOSSES", "add_page_assets"]

# The losses the script computes exactly (gancourse.losses), each with one D step per G step.
PAGE_LOSSES = ("non-saturating", "minimax", "lsgan", "hinge")
SCRIPT, STYLE = "gancourse-toygan.js", "gancourse-toygan.css"
MARKER = "data-gancourse-toygan"
LR_CHOICES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
SPF_CHOICES = (1, 2, 5, 10, 20, 50)


def _mlp_sizes(model, what: str, n_in: int, n_out: int) -> tuple[int, int]:
    """(hidden, depth) of a gancourse.toy MLP: Linear layers of one width with ReLU between them."""
    from torch import nn

    net = getattr(model, "net", None)
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"{what} must be a gancourse.toy network (an nn.Sequential .net), got {type(model).__name__}")
    layers = list(net)
    linears, acts = layers[0::2], layers[1::2]
    if not linears or not all(isinstance(m, nn.Linear) for m in linears) or len(layers) % 2 != 1:
        raise ValueError(f"{what}: the page trains Linear layers with an activation between them, got {net}")
    if not all(type(a) is nn.ReLU for a in acts):
        names = sorted({type(a).__name__ for a in acts})
        raise ValueError(f"{what}: the page's networks use ReLU only, got {names}")
    if linears[0].in_features != n_in or linears[-1].out_features != n_out:
        raise ValueError(f"{what} must map {n_in} numbers to {n_out}, got {linears[0].in_features} -> "
                         f"{linears[-1].out_features}")
    widths = {m.out_features for m in linears[:-1]}
    if len(widths) > 1:
        raise ValueError(f"{what}: the page's networks have hidden layers of one width, got {sorted(widths)}")
    if any(m.bias is None for m in linears):
        raise ValueError(f"{what}: every Linear layer needs a bias")
    depth = len(linears) - 1
    return (widths.pop() if widths else 0), depth


class ToyTrainer:
    """The settings of one in-page trainer and its HTML (see the module docstring)."""

    def __init__(self, *, z_dim: int = 16, g_hidden: int = 128, g_depth: int = 2, d_hidden: int = 128,
                 d_depth: int = 1, loss: str = "non-saturating", batch_size: int = 256, lr_g: float = 1e-3,
                 lr_d: float = 1e-3, betas=(0.5, 0.999), seed: int = 0, steps_per_frame: int = 5,
                 n_data: int = 20_000, modes: int | None = None, radius: float | None = None,
                 std: float | None = None, n_show: int = 1000):
        modes = toy.RING_MODES if modes is None else modes
        radius = toy.RING_RADIUS if radius is None else radius
        std = toy.RING_STD if std is None else std
        if loss not in PAGE_LOSSES:
            raise ValueError(f"the page trains with the losses {', '.join(PAGE_LOSSES)}; got {loss!r}")
        ints = dict(z_dim=z_dim, g_hidden=g_hidden, d_hidden=d_hidden, batch_size=batch_size, modes=modes,
                    n_data=n_data, n_show=n_show, steps_per_frame=steps_per_frame)
        for name, value in ints.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name, value in dict(g_depth=g_depth, d_depth=d_depth, seed=seed).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if batch_size > n_data:
            raise ValueError(f"batch_size {batch_size} exceeds the data set's {n_data} points")
        for name, value in dict(lr_g=lr_g, lr_d=lr_d, radius=radius, std=std).items():
            if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        work = batch_size * (z_dim * g_hidden + g_depth * g_hidden * g_hidden + d_hidden * (2 + d_depth * d_hidden))
        if work > 5e7:
            raise ValueError("these networks are too large to train in a page (more than 5e7 multiply-adds "
                             f"per batch, about {work:.1e}): use fewer or narrower layers or a smaller batch")
        self.settings = dict(z_dim=z_dim, g_hidden=g_hidden, g_depth=g_depth, d_hidden=d_hidden, d_depth=d_depth,
                             loss=loss, batch_size=batch_size, lr_g=float(lr_g), lr_d=float(lr_d), betas=list(betas),
                             seed=seed, steps_per_frame=steps_per_frame, n_data=n_data, modes=modes,
                             radius=float(radius), std=float(std), n_show=n_show)

    # ------------------------------------------------------------------ settings for the script
    def config(self) -> dict:
        """Everything the script reads, as a JSON-ready dict."""
        s = self.settings
        return {**s, "losses": list(PAGE_LOSSES),
                "lr_choices": sorted({*LR_CHOICES, s["lr_g"], s["lr_d"]}),
                "spf_choices": sorted({*SPF_CHOICES, s["steps_per_frame"]}),
                "lim": 3.0 if s["radius"] <= 2.5 else round(1.5 * s["radius"], 1),
                "heat_n": 64, "n_real_show": min(500, s["n_data"]),
                # as toy.mode_coverage's defaults
                "k_sigma": 3.0, "min_share": 0.02, "announce_every_s": 15}

    # ---------------------------------------------------------------------------- text
    def _g_text(self) -> str:
        s = self.settings
        return (f"{s['z_dim']} noise values \u2192 {s['g_depth']} hidden layer{'s' * (s['g_depth'] != 1)} of "
                f"{s['g_hidden']} ReLU units \u2192 a point")

    def _d_text(self) -> str:
        s = self.settings
        return (f"a point \u2192 {s['d_depth']} hidden layer{'s' * (s['d_depth'] != 1)} of {s['d_hidden']} ReLU "
                "units \u2192 one logit")

    def text(self) -> str:
        s = self.settings
        return (f"ToyTrainer: a GAN on the ring of {s['modes']} Gaussians that trains in the HTML book's page "
                f"(G: {self._g_text()}; D: {self._d_text()}; {s['loss']} loss, Adam, learning rates "
                f"{s['lr_g']:g} (G) and {s['lr_d']:g} (D), batches of {s['batch_size']}). No script runs here; "
                "see .live() and .standalone_html().")

    def __repr__(self) -> str:
        return self.text()

    def _about(self) -> str:
        s = self.settings
        same = [
            f"The data: the ring of {s['modes']} Gaussians of <code>toy.sample_ring</code> (radius {s['radius']:g}, "
            f"standard deviation {s['std']:g}), a set of {s['n_data']:,} points read in shuffled batches of "
            f"{s['batch_size']}, a new order each pass.",
            f"The networks' shapes: G maps {self._g_text()}, D maps {self._d_text()}, with PyTorch's layout and "
            "<code>nn.Linear</code>'s initial distribution: uniform between \u22121/\u221an and 1/\u221an for a "
            "layer of n inputs.",
            "One training step is <code>d_step</code> then <code>g_step</code>: D sees a real batch and as many "
            "generated points, then G gets fresh noise and its loss through D, whose weights stay fixed.",
            "The losses of <code>gancourse.losses</code>, computed from the logits (the log-sigmoids as "
            "softplus), and Adam with PyTorch's update, \u03b2 = "
            f"({s['betas'][0]:g}, {s['betas'][1]:g}), \u03b5 = 1e\u22128. One step of the page matches "
            "PyTorch's: the losses and every gradient to about 1e\u22126 of their size, and Adam's update of "
            "every weight whose gradient is not almost 0 to about 1e\u22125 of a step (checked by the course's "
            "tests).",
            f"Mode coverage as <code>toy.mode_coverage</code> counts it, on {s['n_show']:,} points of one "
            "fixed noise batch: a point is high-quality within 3 standard deviations of a centre, and a mode "
            "is covered when at least 2% of the points are its high-quality points.",
        ]
        differs = [
            "The random numbers: the page has its own generator (xoshiro128** with Box\u2013Muller normals), so "
            "the data points, the initial weights, the noise and the batch order are not PyTorch's. A run here "
            "and the chapter's run are two runs of the same experiment, not the same run: compare what happens "
            "(the cloud of generated points, the number of modes covered), not the step at which it happens.",
            "The arithmetic: weights and gradients are stored in 32-bit floats as in PyTorch, but the sums "
            "inside a layer are taken in JavaScript's 64-bit numbers and in another order. The differences "
            "start near 1e\u22127 and grow over thousands of steps, as any two GAN runs drift apart.",
            "The speed: PyTorch's compiled float32 kernels take the time printed with the chapter's run; the "
            "page computes one number at a time in JavaScript, some tens of steps a second on the 2-core CPU "
            "the course was tested on (its status line shows the rate while it trains).",
            "Reset draws a new seed. Changing the loss or a learning rate during a run keeps the weights and "
            "Adam's moments, as changing an optimiser's <code>lr</code> in PyTorch would.",
            "Only the losses with one D step per G step whose gradients the page computes exactly are offered; "
            "the Wasserstein losses (weight clipping, five critic steps, a gradient penalty) are not.",
        ]

        def items(lines):
            return "".join(f"<li>{line}</li>" for line in lines)

        return ('<details class="gc-tg-about"><summary>What is the same as the PyTorch run, and what differs'
                f'</summary><p>The same:</p><ul>{items(same)}</ul><p>Different:</p><ul>{items(differs)}</ul>'
                "</details>")

    # ---------------------------------------------------------------------------- HTML
    def html(self) -> str:
        """The markup the book shows; ``gancourse-toygan.js`` adds the controls and the pictures."""
        s = self.settings
        cfg = self.config()
        uid = stable_id("toygan", json.dumps(cfg, sort_keys=True))
        return (
            f'<div class="gc-toygan" id="{uid}" role="group" aria-labelledby="{uid}-title" {MARKER}="{json_attr(cfg)}">'
            f'<p class="gc-tg-title" id="{uid}-title">A GAN that trains in your browser: the ring of '
            f'{s["modes"]} Gaussians</p>'
            f'<p class="gc-tg-intro">G: {esc(self._g_text())}. D: {esc(self._d_text())}. Adam, learning rates '
            f'{s["lr_g"]:g} for G and {s["lr_d"]:g} for D, batches of {s["batch_size"]}, one D step then one G '
            f'step per training step; the {esc(s["loss"])} loss to start with. Press Start to train, Pause to '
            'stop, Step for a single step; the loss, the learning rates and the number of steps drawn per frame '
            'can be changed at any time.</p>'
            '<p class="gc-tg-nojs">This trainer needs its script, which the HTML version of the course loads: '
            "there, your browser trains both networks, with no kernel. Here no script has run, so there are no "
            "controls. In Jupyter or Colab, display <code>toy_trainer(...).live()</code> instead (it carries "
            "the script), or train the same networks with the PyTorch cells of this chapter.</p>"
            f"{self._about()}</div>")

    def _repr_html_(self) -> str:
        return self.html()

    def live(self) -> "LiveToyTrainer":
        """The same trainer with its script and style sheet inlined, for a notebook front end that
        runs scripts in outputs (Colab does; JupyterLab and Notebook 7 do for trusted notebooks)."""
        return LiveToyTrainer(self)

    def standalone_html(self, title: str = "A GAN that trains in your browser") -> str:
        """A complete HTML page holding the trainer, its script and its style sheet (open it in a browser)."""
        return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{esc(title)}</title><style>body {{ font-family: sans-serif; max-width: 50rem; "
                f"margin: 1rem auto; padding: 0 1rem; }}\n{static_asset(STYLE)}</style></head><body><main>"
                f"<h1>{esc(title)}</h1>{self.html()}</main><script>{_inline_js()}</script></body></html>\n")


def _inline_js() -> str:
    return static_asset(SCRIPT).replace("</script", "<\\/script")


class LiveToyTrainer:
    """What :meth:`ToyTrainer.live` returns: the trainer's HTML with the script and CSS inlined."""

    def __init__(self, trainer: ToyTrainer):
        self.trainer = trainer

    def _repr_html_(self) -> str:
        mount = ("<script>(function (s) { var root = s && s.parentNode; "
                 "if (root && window.GancourseToyGAN) window.GancourseToyGAN.mount(root); })"
                 "(document.currentScript);</script>")
        return (f'<div class="gc-toygan-live"><style>{static_asset(STYLE)}</style>{self.trainer.html()}'
                f"<script>{_inline_js()}</script>{mount}</div>")

    def __repr__(self) -> str:
        return self.trainer.text()


def toy_trainer(G=None, D=None, config=None, **overrides) -> ToyTrainer:
    """An in-page trainer with the sizes of ``G`` and ``D`` and the settings of ``config``.

    ``G``: a :class:`gancourse.toy.ToyGenerator` (ReLU, output 2); ``D``: a
    :class:`gancourse.toy.ToyDiscriminator` (ReLU, input 2); ``config``: a
    :class:`~gancourse.train.TrainConfig` (loss, batch size, learning rates, betas, seed).
    Only their sizes and settings are used, never their weights: the page starts from weights
    of its own. Settings the page cannot reproduce exactly raise ``ValueError``. Keyword
    arguments (``steps_per_frame``, ``n_data``, ``modes``, ``radius``, ``std``, ``n_show`` or any
    of the above) override.

    >>> toy_trainer(toy.ToyGenerator(z_dim=16), toy.ToyDiscriminator(depth=1), TrainConfig(lr_g=1e-3))
    """
    kw: dict = {}
    if G is not None:
        kw["g_hidden"], kw["g_depth"] = _mlp_sizes(G, "G", getattr(G, "z_dim", None), 2)
        kw["z_dim"] = G.z_dim
    if D is not None:
        kw["d_hidden"], kw["d_depth"] = _mlp_sizes(D, "D", 2, 1)
    if config is not None:
        unsupported = {"n_critic": 1, "label_smoothing": 0.0, "label_flip_p": 0.0, "instance_noise": 0.0,
                       "r1_gamma": 0.0, "feature_matching": False}
        changed = [f"{k}={getattr(config, k)!r}" for k, v in unsupported.items() if getattr(config, k) != v]
        if changed:
            raise ValueError(f"the page trains without {', '.join(changed)} (it reproduces the plain losses only)")
        kw.update(loss=config.loss, batch_size=config.batch_size, lr_g=config.lr_g, lr_d=config.lr_d,
                  betas=config.betas, seed=config.seed)
    kw.update(overrides)
    for key in ("g_hidden", "d_hidden"):      # a network with no hidden layer has no width
        if kw.get(key) == 0:
            kw[key] = 1
    return ToyTrainer(**kw)


# ------------------------------------------------------------------------ the book
def add_page_assets(app, pagename, templatename, context, doctree) -> None:
    """Sphinx ``html-page-context``: load the script and style sheet on pages that show a trainer only."""
    if MARKER in (context.get("body") or ""):
        app.add_js_file(SCRIPT, loading_method="defer")
        app.add_css_file(STYLE)
