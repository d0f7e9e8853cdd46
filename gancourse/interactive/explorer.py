"""The latent-space explorer: sliders that move a generator's latent code and show the image.

::

    from gancourse.interactive import LatentExplorer
    LatentExplorer(generator)            # the last expression of a cell displays it

Controls, all declared once and used by both renderings:

- **A → B**: interpolation between the latent codes of two seeds (spherical in z, because
  Gaussian codes live near a sphere; linear in w).
- **truncation ψ**: ``z ← ψ·z`` for a plain generator; ``w ← w̄ + ψ(w − w̄)`` for a
  generator with a mapping network. ψ = 1 is no truncation; smaller ψ trades variety
  for typical-looking images.
- **direction sliders**: moves along latent directions, in units of the standard deviation
  of the codes along that direction (edits are added after truncation):

  * ``directions="pca"`` (default): for a mapping network, the principal directions of
    w computed from ``n_samples`` mapped codes (GANSpace, Härkönen et al. 2020). For a
    plain generator the principal directions of z are meaningless (z is isotropic), so
    the explorer finds the principal directions of the *generated images* and, for each,
    the z direction that predicts it best (least squares), made orthonormal;
  * ``directions="dims"``: the first ``n_directions`` latent coordinates, or a list of
    chosen coordinates ``directions=[3, 17, 42]``;
  * a tensor of shape (k, latent size): your own directions.
- **class** (conditional generators, ``gancourse.models.is_conditional``): a drop-down.
- **style mix** (style-based generators only, see below): from which layer on the styles
  come from a third seed.

Style-based generators (protocol)
---------------------------------
A generator takes part in w-space truncation, w-space PCA and style mixing when it has:

- ``mapping(z) -> w`` of shape (B, w_dim) (``mapping(z, y)`` when conditional);
- ``synthesis(ws) -> images``, where ``ws`` has shape (B, num_ws, w_dim) if the generator
  has an int attribute ``num_ws`` (one style per layer, as in StyleGAN), else (B, w_dim);
- optionally ``w_avg`` (on the generator or on ``mapping``), a (w_dim,) tensor used as w̄;
  otherwise w̄ is the mean of ``n_samples`` mapped codes;
- ``z_dim`` on the generator or on ``mapping``.

Style mixing is offered when ``num_ws >= 2``. Plain generators need ``z_dim`` and
``forward(z)`` (or ``forward(z, y)`` with ``n_classes``), as every generator in
:mod:`gancourse.models` has.

Static rendering: the generator in the page, precomputed frames as the fallback
-------------------------------------------------------------------------------
For a shipped generator (``gancourse.pretrained(name)``, its weights unchanged:
:meth:`LatentExplorer.live_data` compares fingerprints) the HTML also carries what the page
needs to compose the same latents as :meth:`LatentExplorer.latents`: codes A, B and C
(``torch.randn`` cannot be replayed in a browser), the directions and their scales, and w̄.
The book adds the model's weights and ``gancourse-generator.js`` to the page (see the
package docstring), and every control then combines with every other, "New z" draws a
fresh code A, "Play A → B" animates t from 0 to 1. Measured in headless Chromium on the
project's 2-core x86_64 machine while it ran two trainings and other jobs (load average
5.7): one update (latent, generator, drawing) of ``dcgan-mnist`` took 1.8 ms (median; 4.1 ms
at worst over 66 updates), ``cdcgan-mnist`` 2.0 ms (4.3 ms), ``stylegan7-mnist`` (eight
convolutions, 41M multiply-adds) 8.1 ms (23.5 ms over 76); at load average 9.4 its worst
update took 50.3 ms. ``tests/test_generator_page.py`` prints the current numbers.

The HTML always holds a sprite sheet of precomputed frames (one PNG, base64; the page's
script picks a frame with ``background-position``). They are what a page without the
model's weights shows, and the only rendering of an explorer on any other generator.
Frames follow the one-control-at-a-time layout of :mod:`._frames`: with the defaults,
11 + 11 + 3 x 13 positions make 57 frames per class. Measured on the project's 2-core
x86_64 machine (one torch thread, other jobs running) for the case-study
``DCGANGenerator``: 57 frames and 30 KB of HTML with its DCGAN initialisation, 58 KB with
PyTorch's default initialisation (noisier images compress worse), 23.5 KB for a partly
trained one; the frames take 0.1-0.25 s after 0.5-0.6 s of set-up (principal directions
from 256 samples). ``ConditionalDCGANGenerator``: 570 frames (10 classes x 57), 252 KB,
1.05 s. ``tests/test_interactive.py`` prints these numbers again.

In a kernel every change re-renders one image and sends it to the front end: 1.4 ms
(median; 10 ms at worst over 30 changes) for the DCGAN on that machine, well inside the
50 ms budget that ``tests/test_interactive.py`` checks. Measured end to end in JupyterLab
4.6 (key press on a slider to new image, headless Chromium, same machine) it was 76 ms
median, against 65 ms for a bare slider that only updates a label: the round trip
through the front end and the kernel costs more than the explorer.
"""
from __future__ import annotations

import base64
import io
import math
from contextlib import contextmanager

import torch
from torch import nn

from ._common import esc, is_style_based, stable_id
from ._frames import Control, FrameView, choice, slider

__all__ = ["LatentExplorer", "GeneratorProtocolError", "is_style_based", "slerp"]


class GeneratorProtocolError(TypeError):
    """The generator cannot be explored (not a module, unknown latent size, unexpected output)."""


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` (linear where they are parallel)."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


@contextmanager
def _evaluating(module: nn.Module):
    """Eval mode (batch norm uses running statistics, dropout is off) and no autograd, then restore."""
    was = module.training
    module.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        module.train(was)


def _png(images: torch.Tensor, value_range, cols: int, scale: int = 1, small: bool = False) -> bytes:
    """Tile (N, C, H, W) images into a grid of ``cols`` columns and encode one PNG (nearest upscaling).

    ``small`` spends time on compression (the book's sprite sheets); live updates use fast
    compression (about 0.1 ms instead of 10-20 ms for one upscaled image).
    """
    from PIL import Image

    lo, hi = value_range
    x = ((images.float().cpu() - lo) / (hi - lo)).clamp(0, 1).mul(255).round().to(torch.uint8)
    n, c, h, w = x.shape
    rows = math.ceil(n / cols)
    sheet = torch.zeros(c, rows * h, cols * w, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        sheet[:, r * h:(r + 1) * h, k * w:(k + 1) * w] = x[i]
    if scale > 1:
        sheet = sheet.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    arr = sheet[0].numpy() if c == 1 else sheet.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    options = {"optimize": True} if small else {"compress_level": 1}
    Image.fromarray(arr, mode="L" if c == 1 else "RGB").save(buf, format="PNG", **options)
    return buf.getvalue()


class LatentExplorer(FrameView):
    """Explore a generator's latent space with sliders (see the module docstring).

    Args:
        generator: any generator of :mod:`gancourse.models`, or a style-based one.
        directions: ``"pca"``, ``"dims"``, a list of coordinates, or a (k, dim) tensor.
        n_directions: how many direction sliders (for ``"pca"`` and ``"dims"``).
        seeds: the seeds of codes A and B (and C for style mixing).
        n_samples: codes sampled to find principal directions and the mean w.
        value_range: the generator's output range; ``"auto"`` is (0, 1) when its last
            module is a sigmoid, else (-1, 1).
        class_names: labels of a conditional generator's classes (default "0", "1", ...).
        scale: on-screen pixels per image pixel.
        static: include the precomputed frames in the HTML (needed by the book).
    """

    mode = "sprite"

    def __init__(self, generator: nn.Module, *, directions="pca", n_directions: int = 3,
                 seeds=(0, 1, 2), n_samples: int = 256, value_range="auto", class_names=None,
                 scale: int = 6, span: float = 3.0, static: bool = True, title: str | None = None):
        if not isinstance(generator, nn.Module):
            raise GeneratorProtocolError(
                f"the explorer needs a torch.nn.Module generator, got {type(generator).__name__}")
        self.generator = generator
        self.style = is_style_based(generator)
        self.num_ws = getattr(generator, "num_ws", None) if self.style else None
        if self.num_ws is not None and (not isinstance(self.num_ws, int) or self.num_ws < 1):
            raise GeneratorProtocolError(f"num_ws must be a positive int, got {self.num_ws!r}")
        self.z_dim = getattr(generator, "z_dim", None) or getattr(getattr(generator, "mapping", None), "z_dim", None)
        if not isinstance(self.z_dim, int) or self.z_dim < 1:
            raise GeneratorProtocolError(
                f"cannot tell the latent size of {type(generator).__name__}: give it an int attribute "
                f"`z_dim` (every generator in gancourse.models has one)")
        self.n_classes = getattr(generator, "n_classes", None)
        if self.n_classes is not None and (not isinstance(self.n_classes, int) or self.n_classes < 1):
            raise GeneratorProtocolError(f"n_classes must be a positive int, got {self.n_classes!r}")
        if not (isinstance(seeds, (tuple, list)) and len(seeds) == 3 and all(isinstance(s, int) for s in seeds)):
            raise ValueError(f"seeds must be three ints (A, B, and C for style mixing), got {seeds!r}")
        if not isinstance(scale, int) or not 1 <= scale <= 16:
            raise ValueError(f"scale must be an int in 1..16, got {scale!r}")
        if not isinstance(n_samples, int) or n_samples < 16:
            raise ValueError(f"n_samples must be an int >= 16, got {n_samples!r}")
        self.device = next(iter(generator.parameters()), torch.empty(0)).device
        self.seeds = list(seeds)
        self.scale, self.static = scale, static
        self.title = title or f"Latent explorer: {type(generator).__name__}"
        self.alt = f"Image generated by {type(generator).__name__}"
        self.value_range = self._value_range(value_range)
        self.shape = self._probe()
        self._init_directions(directions, n_directions, n_samples)
        self.controls = self._make_controls(span)
        self.product = None
        if self.n_classes is not None:
            names = list(class_names) if class_names is not None else [str(i) for i in range(self.n_classes)]
            if len(names) != self.n_classes:
                raise ValueError(f"class_names has {len(names)} names for {self.n_classes} classes")
            self.product = choice("label", "class", range(self.n_classes), names, 0)
        self.values = self.defaults()
        self.dom_id = stable_id("explorer", f"{type(generator).__name__}|{self.seeds}|{self.direction_kind}")
        self.image = None

    # ----------------------------------------------------------- set-up
    def _value_range(self, value_range):
        if value_range == "auto":
            last = list(self.generator.modules())[-1]
            return (0.0, 1.0) if isinstance(last, nn.Sigmoid) else (-1.0, 1.0)
        ok = (isinstance(value_range, (tuple, list)) and len(value_range) == 2
              and all(isinstance(v, (int, float)) for v in value_range) and value_range[0] < value_range[1])
        if not ok:
            raise ValueError(f"value_range must be 'auto' or (low, high) with low < high, got {value_range!r}")
        return tuple(float(v) for v in value_range)

    def _z(self, seed: int, n: int = 1) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.z_dim, generator=g).to(self.device)

    def _labels(self, label, n: int) -> torch.Tensor | None:
        if self.n_classes is None:
            return None
        return torch.full((n,), int(label), dtype=torch.long, device=self.device)

    def _map(self, z: torch.Tensor, y) -> torch.Tensor:
        return self.generator.mapping(z) if y is None else self.generator.mapping(z, y)

    def _synthesise(self, latent: torch.Tensor, y) -> torch.Tensor:
        """latent: z (B, z_dim) for plain generators; ws (B, num_ws, w_dim) or w (B, w_dim) otherwise."""
        if self.style:
            return self.generator.synthesis(latent)
        return self.generator(latent) if y is None else self.generator(latent, y)

    def _probe(self):
        z = self._z(0)
        y = self._labels(0, 1)
        what = "mapping/synthesis" if self.style else "forward"
        try:
            with _evaluating(self.generator):
                if self.style:
                    w = self._map(z, y)
                    ws = w.unsqueeze(1).repeat(1, self.num_ws, 1) if self.num_ws else w
                    out = self._synthesise(ws, y)
                else:
                    out = self._synthesise(z, y)
        except Exception as err:  # name the call that failed, keep the cause
            raise GeneratorProtocolError(
                f"calling {type(self.generator).__name__}'s {what} with one code of size {self.z_dim} failed: "
                f"{type(err).__name__}: {err}") from err
        if self.style and not (isinstance(w, torch.Tensor) and w.dim() == 2 and w.shape[0] == 1):
            raise GeneratorProtocolError(f"mapping(z) must return w of shape (B, w_dim), got {getattr(w, 'shape', w)}")
        if not (isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[0] == 1 and out.shape[1] in (1, 3)):
            raise GeneratorProtocolError(
                f"the generator must return images of shape (B, 1 or 3, H, W), got {getattr(out, 'shape', type(out))}")
        if self.style:
            self.w_dim = w.shape[1]
        return tuple(out.shape[1:])

    def _init_directions(self, directions, n_directions: int, n_samples: int) -> None:
        if not isinstance(n_directions, int) or not 0 <= n_directions <= 8:
            raise ValueError(f"n_directions must be an int in 0..8, got {n_directions!r}")
        space_dim = self.w_dim if self.style else self.z_dim
        g = torch.Generator().manual_seed(12345)
        z = torch.randn(n_samples, self.z_dim, generator=g).to(self.device)
        y = (torch.arange(n_samples, device=self.device) % self.n_classes) if self.n_classes else None
        with _evaluating(self.generator):
            samples = self._map(z, y) if self.style else z            # (N, space_dim)
            self.w_avg = None
            if self.style:
                avg = getattr(self.generator, "w_avg", None)
                avg = avg if isinstance(avg, torch.Tensor) else getattr(self.generator.mapping, "w_avg", None)
                self.w_avg = avg.detach().to(self.device).reshape(-1) if isinstance(avg, torch.Tensor) \
                    else samples.mean(0)
            if isinstance(directions, str) and directions == "pca":
                kind = "PC"
                if self.style:
                    centred = samples - samples.mean(0)
                    _, _, vt = torch.linalg.svd(centred, full_matrices=False)
                    dirs = vt[:n_directions]
                else:
                    dirs = self._image_pca_directions(z, y, n_directions)
            elif isinstance(directions, str) and directions == "dims":
                kind, dims = "dim", list(range(n_directions))
                dirs = torch.eye(space_dim, device=self.device)[dims]
            elif isinstance(directions, (list, tuple)) and all(isinstance(d, int) and not isinstance(d, bool)
                                                             for d in directions):
                bad = [d for d in directions if not 0 <= d < space_dim]
                if bad or not directions:
                    raise ValueError(f"latent coordinates must lie in 0..{space_dim - 1}, got {list(directions)}")
                kind, dims = "dim", list(directions)
                dirs = torch.eye(space_dim, device=self.device)[dims]
            elif isinstance(directions, torch.Tensor):
                if directions.dim() != 2 or directions.shape[1] != space_dim or not 1 <= directions.shape[0] <= 8:
                    raise ValueError(f"a directions tensor must have shape (k <= 8, {space_dim}), "
                                     f"got {tuple(directions.shape)}")
                kind = "direction"
                dirs = directions.detach().float().to(self.device)
                dirs = dirs / dirs.norm(dim=1, keepdim=True).clamp_min(1e-12)
            else:
                raise ValueError(f"directions must be 'pca', 'dims', a list of coordinates or a (k, {space_dim}) "
                                 f"tensor, got {directions!r}")
            # One "unit" of a slider is one standard deviation of the codes along the direction.
            self.dir_scales = (samples - samples.mean(0)) @ dirs.T if len(dirs) else torch.zeros(n_samples, 0)
            self.dir_scales = self.dir_scales.std(0)
        self.directions = dirs
        self.direction_kind = kind
        self.direction_names = ([f"{kind} {d}" for d in dims] if kind == "dim"
                                else [f"{kind} {i + 1}" for i in range(len(dirs))])

    def _image_pca_directions(self, z: torch.Tensor, y, k: int) -> torch.Tensor:
        """z directions that best predict the top-k principal components of generated images."""
        if k == 0:
            return torch.zeros(0, self.z_dim, device=self.device)
        images = torch.cat([self._synthesise(z[i:i + 256], None if y is None else y[i:i + 256]).flatten(1)
                            for i in range(0, len(z), 256)])
        centred = images - images.mean(0)
        _, _, vt = torch.linalg.svd(centred, full_matrices=False)
        scores = centred @ vt[:k].T                                   # (N, k) image-PC scores
        coef = torch.linalg.lstsq(z, scores).solution                 # (z_dim, k): z -> scores
        q, _ = torch.linalg.qr(coef)                                  # orthonormal, first one kept
        dirs = q.T
        signs = torch.sign((dirs * coef.T).sum(1))                    # point like the regression
        return dirs * torch.where(signs == 0, torch.ones_like(signs), signs).unsqueeze(1)

    def _make_controls(self, span: float) -> list[Control]:
        if not isinstance(span, (int, float)) or not 0.5 <= span <= 10:
            raise ValueError(f"span must be a number in [0.5, 10], got {span!r}")
        controls = [slider("t", "A → B", 0.0, 1.0, 0.1, 0.0),
                    slider("psi", "truncation ψ", 0.0, 1.0, 0.1, 1.0)]
        half = round(span * 2) / 2
        for i, name in enumerate(self.direction_names):
            controls.append(slider(f"d{i + 1}", name, -half, half, 0.5, 0.0, fmt="{:+.1f}"))
        if self.style and self.num_ws and self.num_ws >= 2:
            n = self.num_ws
            c = slider("mix", "style mix from layer", 0, n, 1, n, fmt="{}", integer=True)
            controls.append(Control(c.name, c.label, c.values, c.labels[:-1] + ("off",), c.default))
        return controls

    # ------------------------------------------------------------ render
    def latents(self, states: list[dict]) -> torch.Tensor:
        """The codes handed to the generator (or to ``synthesis``) for a list of control values."""
        out = []
        cache = {}

        def code(seed, label):
            key = (seed, label)
            if key not in cache:
                z = self._z(seed)
                cache[key] = self._map(z, self._labels(label, 1))[0] if self.style else z[0]
            return cache[key]

        for s in states:
            label = s.get("label", 0)
            a, b = code(self.seeds[0], label), code(self.seeds[1], label)
            if self.style:
                v = torch.lerp(a, b, float(s["t"]))
                v = self.w_avg + s["psi"] * (v - self.w_avg)
            else:
                v = slerp(a.unsqueeze(0), b.unsqueeze(0), float(s["t"]))[0] * s["psi"]
            for i in range(len(self.directions)):
                v = v + s[f"d{i + 1}"] * self.dir_scales[i] * self.directions[i]
            if self.style and self.num_ws:
                v = v.unsqueeze(0).repeat(self.num_ws, 1)
                mix = s.get("mix", self.num_ws)
                if mix < self.num_ws:
                    c = code(self.seeds[2], label)
                    v[mix:] = self.w_avg + s["psi"] * (c - self.w_avg)
            out.append(v)
        return torch.stack(out)

    def render_states(self, states: list[dict], batch: int = 128) -> torch.Tensor:
        """Images (N, C, H, W) for a list of control values (missing ones take their defaults)."""
        full = [{**self.defaults(), **s} for s in states]
        with _evaluating(self.generator):
            images = []
            for i in range(0, len(full), batch):
                chunk = full[i:i + batch]
                labels = [s.get("label", 0) for s in chunk]
                y = (torch.tensor(labels, dtype=torch.long, device=self.device)
                     if self.n_classes is not None else None)
                images.append(self._synthesise(self.latents(chunk), y).float().cpu())
        return torch.cat(images)

    def render(self, **values) -> torch.Tensor:
        """The image (C, H, W) for these control values; unnamed controls take the current values."""
        return self.render_states([{**self.values, **self.validate(values)}])[0]

    def set(self, **values) -> None:
        """Move controls from code (validated: names, types, ranges) and update the picture."""
        values = self.validate(values)
        if self._widget is None:
            self.values.update(values)
            self.image = self.render()
            return
        self._quiet = True
        try:
            for k, v in values.items():
                self._controls[k].value = v
        finally:
            self._quiet = False
        self._update()

    def set_seeds(self, a: int | None = None, b: int | None = None, c: int | None = None) -> None:
        """Change the seeds of codes A, B (and C for style mixing) and update the picture."""
        for i, s in enumerate((a, b, c)):
            if s is not None:
                if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                    raise ValueError(f"seeds must be non-negative ints, got {s!r}")
                self.seeds[i] = s
        if self._widget is not None:
            self._quiet = True
            for box, s in zip(self._seed_boxes, self.seeds):
                box.value = s
            self._quiet = False
            self._update()

    # ----------------------------------------------------------- widget
    def build_widget(self):
        import ipywidgets as w

        self._quiet = False
        self._controls = self.control_widgets(self._update)
        names = ["seed A", "seed B"] + (["seed C (mix)"] if any(c.name == "mix" for c in self.controls) else [])
        self._seed_boxes = [w.BoundedIntText(value=s, min=0, max=2**31 - 1, description=n,
                                             style={"description_width": "initial"}, layout=w.Layout(width="11em"))
                            for n, s in zip(names, self.seeds)]
        for box in self._seed_boxes:
            box.observe(lambda _ch: None if self._quiet else self._seeds_changed(), "value")
        h, wd = self.shape[1] * self.scale, self.shape[2] * self.scale
        self._image = w.Image(format="png", width=wd, height=h, layout=w.Layout(border="1px solid #999"))
        self._caption = w.HTML()
        controls = w.VBox([w.HBox(self._seed_boxes)] + list(self._controls.values()))
        box = w.VBox([w.HTML(f"<strong>{esc(self.title)}</strong>"),
                      w.HBox([controls, w.VBox([self._image, self._caption], layout=w.Layout(margin="0 0 0 1em"))])])
        self._update()
        return box

    def _seeds_changed(self):
        self.seeds[:len(self._seed_boxes)] = [b.value for b in self._seed_boxes]
        self._update()

    def _update(self):
        if getattr(self, "_quiet", False):
            return
        self.values = {k: wdg.value for k, wdg in self._controls.items()}
        self.image = self.render()
        self._image.value = _png(self.image.unsqueeze(0), self.value_range, 1, self.scale)
        self._caption.value = f"<small>{esc(self.describe(self.values))}</small>"

    # ----------------------------------------------------------- static
    def sprite(self):
        """(PNG bytes of every frame in one sheet, columns, frame count)."""
        states = self.frame_states()
        images = self.render_states(states)
        cols = min(len(states), 16)
        return _png(images, self.value_range, cols, small=True), cols, len(states)

    def live_data(self) -> dict | None:
        """What the static page needs to run this explorer's generator itself, or None.

        Only a shipped generator (``gancourse.pretrained.load``, which sets
        ``pretrained_name``) whose weights are still the shipped ones qualifies: the book
        adds that model's weights file to the page. The codes A, B, C, the directions and
        their scales and w̄ travel here, so the page composes the same latents as
        :meth:`latents` (the page cannot replay ``torch.randn``).
        """
        name = getattr(self.generator, "pretrained_name", None)
        if not isinstance(name, str):
            return None
        from ..pretrained import PretrainedNotFoundError, load
        from .export import fingerprint

        try:
            shipped = load(name)
        except (PretrainedNotFoundError, ValueError, OSError):
            return None
        fp = fingerprint(self.generator)
        if fp != fingerprint(shipped):
            return None                   # trained on, or edited, after loading: frames only

        def nums(t):
            return [float(f"{v:.9g}") for v in t.detach().float().cpu().reshape(-1).tolist()]

        return {"model": name, "fingerprint": fp, "style": self.style, "num_ws": self.num_ws,
                "z": [nums(self._z(seed)) for seed in self.seeds],
                "directions": [nums(d) for d in self.directions], "dir_scales": nums(self.dir_scales),
                "w_avg": nums(self.w_avg) if self.w_avg is not None else None,
                "values": {c.name: list(c.values) for c in self.controls},
                "classes": list(self.product.values) if self.product is not None else None,
                "value_range": list(self.value_range)}

    def html(self) -> str:
        c, h, w = self.shape
        s = self.scale
        if not self.static:
            return (f'<div class="gc-frames"><p>{esc(self.title)}: run this notebook to use the explorer '
                    f'(static frames were turned off).</p></div>')
        png, cols, n = self.sprite()
        data = base64.b64encode(png).decode("ascii")
        view = (f'<div class="gc-view" role="img" aria-label="{esc(self.describe(self.defaults()))}" '
                f'style="width:{w * s}px;height:{h * s}px;background-image:url(data:image/png;base64,{data});'
                f'background-size:{cols * w * s}px auto;background-position:0px 0px"></div>')
        seeds = f"Codes A and B come from seeds {self.seeds[0]} and {self.seeds[1]}"
        if any(ctl.name == "mix" for ctl in self.controls):
            seeds += f"; mixed styles come from seed {self.seeds[2]}"
        extra = {"sprite": {"cols": cols, "w": w, "h": h, "scale": s}, "frames": n}
        live = self.live_data()
        if live is None:
            return self.frames_html(view, extra, note=seeds + ".")
        # The page's script shows the buttons when the model is on the page; if it is not,
        # it falls back to the frames and puts back the frames' note.
        live["frames_note"] = self.frames_note(seeds + ".")
        extra["live"] = live
        buttons = ('<div class="gc-live-buttons" hidden><button type="button" class="gc-new-z">New z</button>'
                   '<button type="button" class="gc-play" aria-pressed="false">Play A → B</button></div>')
        note = (seeds + ". The generator runs in this page, so every control combines with the others: "
                "New z draws a fresh random code A, and Play A → B animates the interpolation.")
        return self.frames_html(view, extra, note=note, controls_extra=buttons, one_at_a_time=False,
                                attrs=f' data-gancourse-model="{esc(live["model"])}"')

    def text(self) -> str:
        names = ", ".join(c.label for c in self.controls)
        cls = f", class (0..{self.n_classes - 1})" if self.n_classes else ""
        return (f"LatentExplorer({type(self.generator).__name__}, image {self.shape}, "
                f"controls: {names}{cls})")
