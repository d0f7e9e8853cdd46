"""The 2-D GAN that trains in the page (``gancourse.interactive.toygan``, ``static/gancourse-toygan.js``).

- The script's numbers are PyTorch's: Node runs its forward pass, hand-written backward pass,
  losses and Adam on weights and batches exported from PyTorch, and every loss, parameter
  gradient and updated parameter is compared with ``d_step`` / ``g_step`` of gancourse.train.
  The same check on a copy of the script with a broken backward pass must fail.
- The Python object: its settings come from the chapter's networks and TrainConfig, and what
  the page cannot do exactly is refused with a clear error.
- In the built book (``built_book``, over file:// and http): chapter 03 trains, at least 20
  steps a second, with finite losses; no other page loads the script.
"""
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

from gancourse import toy
from gancourse.train import TrainConfig, d_step, g_step

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "gancourse" / "interactive" / "static" / "gancourse-toygan.js"
HARNESS = ROOT / "tests" / "js" / "toygan_check.js"
NODE = shutil.which("node")
LOSSES = ("non-saturating", "minimax", "lsgan", "hinge")

needs_node = pytest.mark.skipif(NODE is None, reason="needs Node.js (node) to run the page's script")


def _layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _export(model):
    return [[m.weight.detach().flatten().tolist(), m.bias.detach().tolist()] for m in _layers(model)]


def _export_adam(opt, model):
    """torch.optim.Adam's state (step count, both moments) in the order of the script's parameters."""
    params = [p for m in _layers(model) for p in (m.weight, m.bias)]
    state = [opt.state.get(p, {}) for p in params]
    t = int(state[0]["step"]) if state[0] else 0
    zero = [torch.zeros_like(p) for p in params]
    return {"t": t, "m": [(s.get("exp_avg", z)).flatten().tolist() for s, z in zip(state, zero)],
            "v": [(s.get("exp_avg_sq", z)).flatten().tolist() for s, z in zip(state, zero)]}


def _run_script(script: Path, case: dict) -> list:
    proc = subprocess.run([NODE, str(HARNESS), str(script)], input=json.dumps(case), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _case_and_reference(loss: str, rounds: int = 3, batch: int = 64, sizes=(16, 128, 2, 128, 1)):
    """A small run in PyTorch with the library's own d_step and g_step, and the same inputs for the script.

    The noise that d_step and g_step draw is drawn again beforehand with the same seed, so the
    script gets exactly the z that PyTorch used. Each of the script's steps starts from PyTorch's
    weights and Adam state before that step, so every step is compared on its own (the rounds
    still exercise Adam's bias corrections at steps 1, 2, 3).
    """
    z_dim, g_hidden, g_depth, d_hidden, d_depth = sizes
    torch.manual_seed(0)
    G = toy.ToyGenerator(z_dim=z_dim, hidden=g_hidden, depth=g_depth)
    D = toy.ToyDiscriminator(hidden=d_hidden, depth=d_depth)
    if loss == "hinge":              # spread D's scores across the hinge's kinks at -1 and +1
        with torch.no_grad():
            _layers(D)[-1].weight.mul_(20.0)
            _layers(D)[-1].bias.fill_(0.5)
    cfg = TrainConfig(loss=loss, batch_size=batch, lr_g=1e-3, lr_d=2e-3, device="cpu")
    case = dict(loss=loss, z_dim=z_dim, g_hidden=g_hidden, g_depth=g_depth, d_hidden=d_hidden, d_depth=d_depth,
                batch_size=batch, lr_g=cfg.lr_g, lr_d=cfg.lr_d, betas=list(cfg.betas), rounds=[])
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    reference = []
    for r in range(rounds):
        real = toy.sample_ring(batch, generator=torch.Generator().manual_seed(100 + r))
        before = {"G": _export(G), "D": _export(D), "optG": _export_adam(opt_g, G), "optD": _export_adam(opt_d, D)}
        torch.manual_seed(200 + r)
        zd = torch.randn(batch, z_dim)
        torch.manual_seed(200 + r)
        out_d = d_step(G, D, opt_d, real, None, cfg)
        row = {"lossD": out_d["loss_D"].item(), "gradD": [[m.weight.grad.clone(), m.bias.grad.clone()] for m in _layers(D)],
               "D": [[m.weight.detach().clone(), m.bias.detach().clone()] for m in _layers(D)]}
        before["D_mid"] = _export(D)
        torch.manual_seed(300 + r)
        zg = torch.randn(batch, z_dim)
        torch.manual_seed(300 + r)
        row["lossG"] = g_step(G, D, opt_g, batch, None, cfg)["loss_G"].item()
        row["gradG"] = [[m.weight.grad.clone(), m.bias.grad.clone()] for m in _layers(G)]
        row["G"] = [[m.weight.detach().clone(), m.bias.detach().clone()] for m in _layers(G)]
        reference.append(row)
        case["rounds"].append({"real": real.flatten().tolist(), "zd": zd.flatten().tolist(),
                               "zg": zg.flatten().tolist(), **before})
    return case, reference, cfg


def _worst(js, ref, kind):
    """The largest error of one kind of tensor over all layers, relative to that tensor's largest entry."""
    worst = 0.0
    for layer_js, layer_ref in zip(js, ref):
        for a, b in zip(layer_js, layer_ref):
            b = b.flatten().double()
            a = torch.tensor(a, dtype=torch.float64)
            assert a.shape == b.shape, kind
            scale = b.abs().max().item()
            worst = max(worst, (a - b).abs().max().item() / max(scale, 1e-12))
    return worst


def _compare(result, reference, cfg):
    """{what: worst error} for one script run against the PyTorch run.

    Losses: relative to 1 or the loss, whichever is larger (a hinge loss near 0 is a
    difference of large terms). Gradients: relative to each tensor's largest entry.
    Parameters after Adam: in units of the learning rate (one step's size), where the
    gradient is at least 1e-3 of its tensor's largest entry. Below that, Adam's step
    ``lr * m / (sqrt(v) + 1e-8)`` turns a gradient error of 1e-8 into a large part of a
    step, for PyTorch's own float32 rounding as much as for the script's; Adam itself is
    compared on identical gradients in ``test_adam_matches_torch``.
    """
    errors = {}
    for r, (js, ref) in enumerate(zip(result, reference)):
        for key in ("lossD", "lossG"):
            errors[f"round {r} {key}"] = abs(js[key] - ref[key]) / max(abs(ref[key]), 1.0)
        errors[f"round {r} D gradients"] = _worst(js["gradD"], ref["gradD"], "gradD")
        errors[f"round {r} G gradients"] = _worst(js["gradG"], ref["gradG"], "gradG")
        for net, lr in (("D", cfg.lr_d), ("G", cfg.lr_g)):
            worst = 0.0
            for layer_js, layer_ref, layer_grad in zip(js[net], ref[net], ref["grad" + net]):
                for a, b, g in zip(layer_js, layer_ref, layer_grad):
                    g = g.flatten().abs()
                    kept = g >= 1e-3 * g.max()
                    diff = (torch.tensor(a, dtype=torch.float64) - b.flatten().double()).abs()[kept]
                    worst = max(worst, diff.max().item() / lr if len(diff) else 0.0)
            errors[f"round {r} {net} parameters after Adam (in learning rates)"] = worst
    return errors


# Losses and gradients to 1e-5; parameters after Adam to 1e-3 of one step (a float32 weight
# of about 0.25 is rounded to 1.5e-8, 1.5e-5 of a 1e-3 step; the page sums in float64 where
# PyTorch sums in float32).
TOLERANCE = {"loss": 1e-5, "gradients": 1e-5, "parameters": 1e-3}


def _limit(name):
    return TOLERANCE["loss"] if "loss" in name else TOLERANCE["gradients"] if "gradients" in name \
        else TOLERANCE["parameters"]


@needs_node
def test_adam_matches_torch():
    """The script's Adam, given PyTorch's gradients, moves every parameter as torch.optim.Adam does."""
    torch.manual_seed(1)
    net = toy.ToyDiscriminator(hidden=8, depth=1)
    params = [p.detach().clone() for p in net.parameters()]
    grads = [[torch.randn_like(p) * scale for p in params] for scale in (1.0, 1e-3, 10.0, 1e-6)]
    grads[1][0][0, 0] = 0.0
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.5, 0.999))
    expected = []
    for step in grads:
        for p, g in zip(net.parameters(), step):
            p.grad = g.clone()
        opt.step()
        expected.append([p.detach().clone() for p in net.parameters()])
    case = {"mode": "adam", "sizes": [2, 8, 1, 1], "lr": 2e-3, "betas": [0.5, 0.999],
            "params": [p.flatten().tolist() for p in params],
            "grads": [[g.flatten().tolist() for g in step] for step in grads]}
    got = _run_script(SCRIPT, case)
    for step, (js, ref) in enumerate(zip(got, expected)):
        for a, b in zip(js, ref):
            err = (torch.tensor(a, dtype=torch.float64) - b.flatten().double()).abs().max().item() / 2e-3
            assert err <= 1e-4, f"Adam step {step + 1}: off by {err:.1e} of a step"


@needs_node
@pytest.mark.parametrize("loss", LOSSES)
def test_script_matches_pytorch_steps_exactly(loss):
    case, reference, cfg = _case_and_reference(loss)
    if loss == "hinge":
        real = torch.tensor(case["rounds"][0]["real"]).view(-1, 2)
        D = toy.ToyDiscriminator(hidden=128, depth=1)
        for m, (w, b) in zip(_layers(D), case["rounds"][0]["D"]):
            m.weight.data = torch.tensor(w).view_as(m.weight)
            m.bias.data = torch.tensor(b)
        scores = D(real).flatten()
        assert (scores > 1).any() and (scores < 1).any(), "the hinge case does not reach the kink"
    errors = _compare(_run_script(SCRIPT, case), reference, cfg)
    bad = {k: v for k, v in errors.items() if not v <= _limit(k)}
    print(loss, "worst relative errors:", {k.split(" ", 2)[-1]: f"{v:.1e}" for k, v in errors.items()
                                           if k.startswith("round 2")})
    assert not bad, f"{loss}: the page's step differs from PyTorch's: {bad}"


@needs_node
def test_script_matches_pytorch_with_two_hidden_layers_in_d_and_odd_widths():
    """Other sizes: D with two hidden layers (its input gradient then crosses a ReLU) and widths not divisible by 4."""
    case, reference, cfg = _case_and_reference("non-saturating", rounds=2, batch=37, sizes=(3, 11, 3, 9, 2))
    errors = _compare(_run_script(SCRIPT, case), reference, cfg)
    assert all(v <= _limit(k) for k, v in errors.items()), errors


# Each mutation breaks one part of the backward pass or of Adam; the check must notice.
MUTATIONS = {
    "ReLU mask dropped": ("if (!(x[i] > 0)) gx[i] = 0;", "gx[i] += 0;"),
    "bias gradient dropped": ("gb[o] += g;", ""),
    "input gradient uses the wrong weight": ("gx[xo + i] += g * W[wo + i];", "gx[xo + i] += g * W[i];"),
    "no bias correction": ("var stepSize = this.lr / (1 - Math.pow(b1, this.t))", "var stepSize = this.lr"),
    "hinge's gradient at the kink": ("gr[i] = 1 - r[i] > 0 ? -1 / n : 0;", "gr[i] = -1 / n;"),
}


@needs_node
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_check_fails_on_a_broken_backward_pass(mutation, tmp_path):
    old, new = MUTATIONS[mutation]
    source = SCRIPT.read_text("utf-8")
    assert source.count(old) == 1, f"the script changed: update the mutation {mutation!r}"
    broken = tmp_path / "broken.js"
    broken.write_text(source.replace(old, new), "utf-8")
    loss = "hinge" if "hinge" in mutation else "non-saturating"
    case, reference, cfg = _case_and_reference(loss, rounds=2)
    errors = _compare(_run_script(broken, case), reference, cfg)
    assert any(not v <= _limit(k) for k, v in errors.items()), f"{mutation}: the check did not notice"


# ---------------------------------------------------------------------- the Python side
def _chapter_run():
    """The chapter's networks and settings (book/03_game_theory.ipynb, the ring GAN)."""
    G = toy.ToyGenerator(z_dim=16, hidden=128, depth=2)
    D = toy.ToyDiscriminator(hidden=128, depth=1)
    cfg = TrainConfig(loss="non-saturating", steps=4000, batch_size=256, lr_g=1e-3, lr_d=1e-3, seed=0, device="cpu")
    return G, D, cfg


def test_toy_trainer_takes_the_chapter_sizes_and_settings():
    from gancourse.interactive import toy_trainer

    s = toy_trainer(*_chapter_run()).settings
    assert (s["z_dim"], s["g_hidden"], s["g_depth"], s["d_hidden"], s["d_depth"]) == (16, 128, 2, 128, 1)
    assert (s["loss"], s["batch_size"], s["lr_g"], s["lr_d"], s["betas"]) == ("non-saturating", 256, 1e-3, 1e-3,
                                                                               [0.5, 0.999])
    assert (s["modes"], s["radius"], s["std"], s["n_data"]) == (8, toy.RING_RADIUS, toy.RING_STD, 20_000)
    s = toy_trainer(toy.ToyGenerator(z_dim=3, hidden=7, depth=1), toy.ToyDiscriminator(hidden=5, depth=3),
                    TrainConfig(loss="hinge", batch_size=32, lr_g=5e-4, betas=(0.0, 0.9)), steps_per_frame=2).settings
    assert (s["z_dim"], s["g_hidden"], s["g_depth"], s["d_hidden"], s["d_depth"], s["loss"]) == (3, 7, 1, 5, 3, "hinge")
    assert s["betas"] == [0.0, 0.9] and s["steps_per_frame"] == 2


@pytest.mark.parametrize("make, message", [
    (lambda: (toy.ToyGenerator(activation=nn.LeakyReLU), None, None), "ReLU only"),
    (lambda: (None, toy.ToyDiscriminator(in_dim=1), None), "must map 2 numbers to 1"),
    (lambda: (None, None, TrainConfig(loss="wgan-gp")), "the losses non-saturating"),
    (lambda: (None, None, TrainConfig(n_critic=2)), "n_critic=2"),
    (lambda: (None, None, TrainConfig(label_smoothing=0.1)), "label_smoothing=0.1"),
    (lambda: (nn.Linear(16, 2), None, None), "gancourse.toy network"),
])
def test_toy_trainer_refuses_what_the_page_cannot_reproduce(make, message):
    from gancourse.interactive import toy_trainer

    with pytest.raises((ValueError, TypeError), match=message):
        toy_trainer(*make())


@pytest.mark.parametrize("kw, message", [({"batch_size": 0}, "batch_size"), ({"n_data": 100}, "exceeds"),
                                         ({"lr_g": -1.0}, "lr_g"), ({"betas": (0.5, 1.0)}, "betas"),
                                         ({"g_hidden": 4096}, "too large"), ({"seed": 1.5}, "seed")])
def test_toy_trainer_checks_its_arguments(kw, message):
    from gancourse.interactive import toy_trainer

    with pytest.raises(ValueError, match=message):
        toy_trainer(**kw)


def test_html_describes_the_run_and_carries_the_settings():
    import html as _html
    import re

    from gancourse.interactive import toy_trainer

    t = toy_trainer(*_chapter_run())
    page = t.html()
    cfg = json.loads(_html.unescape(re.search(r'data-gancourse-toygan="([^"]+)"', page).group(1)))
    assert cfg["z_dim"] == 16 and cfg["loss"] == "non-saturating" and cfg["losses"] == list(LOSSES)
    text = re.sub(r"<[^>]+>", "", page)
    for words in ("16 noise values → 2 hidden layers of 128 ReLU units", "1 hidden layer of 128 ReLU units",
                  "batches of 256", "What is the same as the PyTorch run, and what differs",
                  "own generator", "toy_trainer(...).live()"):
        assert words in text, words
    assert 'role="group"' in page and "aria-labelledby" in page
    assert "<script" not in page, "the book's HTML must not carry the script (the page loads it once)"
    live = t.live()._repr_html_()
    assert live.count("<script>") == 2 and live.count("</script>") == 2 and "GancourseToyGAN" in live


# ---------------------------------------------------------------------- a tiny book
@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory):
    """A two-page Sphinx site (MyST-NB and the book's extension): one page shows a trainer, one does not."""
    sphinx = pytest.importorskip("sphinx.application")
    pytest.importorskip("myst_nb")
    from gancourse.interactive import toy_trainer

    src = tmp_path_factory.mktemp("toygan-site")
    t = toy_trainer(*_chapter_run())

    def notebook(title, outputs):
        cells = [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": f"# {title}"},
                 {"cell_type": "code", "id": "code", "execution_count": 1, "metadata": {}, "source": "toy_trainer()",
                  "outputs": outputs}]
        return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}}})

    shown = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/html": t.html(), "text/plain": t.text()}}]
    (src / "index.ipynb").write_text(notebook("A trainer", shown))
    (src / "other.ipynb").write_text(notebook("No trainer", []))
    (src / "conf.py").write_text("extensions = ['myst_nb', 'gancourse.interactive.sphinxext']\n"
                                 "nb_execution_mode = 'off'\nhtml_theme = 'basic'\n")
    out = src / "_build"
    app = sphinx.Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", status=None, warning=None,
                        freshenv=True)
    app.build()
    return out


def test_only_the_page_with_a_trainer_loads_its_script(tiny_site):
    shown, other = (tiny_site / "index.html").read_text(), (tiny_site / "other.html").read_text()
    assert "data-gancourse-toygan" in shown
    assert '<script defer="defer" src="_static/gancourse-toygan.js' in shown and "gancourse-toygan.css" in shown
    assert "gancourse-toygan" not in other
    assert "gancourse-interactive.js" in other          # the book's other components are on every page
    assert (tiny_site / "_static" / "gancourse-toygan.js").is_file()
