"""The 2-D GAN that trains in the page (``gancourse.interactive.toygan``, ``static/gancourse-toygan.js``).

- The script's numbers are PyTorch's: headless Chromium and Node (each where installed) run its
  forward pass, hand-written backward pass, losses and Adam on weights and batches exported
  from PyTorch, and every loss, parameter gradient and updated parameter is compared with
  ``d_step`` / ``g_step`` of gancourse.train. The same check on a copy of the script with a
  broken backward pass must fail.
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

CHROMIUM = Path("/usr/bin/chromium")
needs_node = pytest.mark.skipif(NODE is None, reason="needs Node.js (node) to run the page's script")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium")
ENGINES = [pytest.param("chromium", marks=needs_chromium), pytest.param("node", marks=needs_node)]


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


@pytest.fixture(params=ENGINES)
def run_script(request):
    """run(script, case): the harness's answer for ``case`` with ``script`` as the page's script."""
    if request.param == "node":
        def run(script: Path, case: dict) -> list:
            proc = subprocess.run([NODE, str(HARNESS), str(script)], input=json.dumps(case), capture_output=True,
                                  text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr[-3000:]
            return json.loads(proc.stdout)
        return run
    browser = request.getfixturevalue("browser")

    def run(script: Path, case: dict) -> list:
        pg = browser.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_content("<!DOCTYPE html><title>check</title>")
        pg.add_script_tag(content=script.read_text("utf-8"))
        pg.add_script_tag(path=str(HARNESS))
        try:
            return pg.evaluate("c => toyganCheck(window.GancourseToyGAN, c)", case)
        finally:
            pg.close()
            assert not errors, errors
    return run


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
        row = {"lossD": out_d["loss_D"].item(),
               "gradD": [[m.weight.grad.clone(), m.bias.grad.clone()] for m in _layers(D)],
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


def test_adam_matches_torch(run_script):
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
    got = run_script(SCRIPT, case)
    for step, (js, ref) in enumerate(zip(got, expected)):
        for a, b in zip(js, ref):
            err = (torch.tensor(a, dtype=torch.float64) - b.flatten().double()).abs().max().item() / 2e-3
            assert err <= 1e-4, f"Adam step {step + 1}: off by {err:.1e} of a step"


@pytest.mark.parametrize("loss", LOSSES)
def test_script_matches_pytorch_steps_exactly(loss, run_script):
    case, reference, cfg = _case_and_reference(loss)
    if loss == "hinge":
        real = torch.tensor(case["rounds"][0]["real"]).view(-1, 2)
        D = toy.ToyDiscriminator(hidden=128, depth=1)
        for m, (w, b) in zip(_layers(D), case["rounds"][0]["D"]):
            m.weight.data = torch.tensor(w).view_as(m.weight)
            m.bias.data = torch.tensor(b)
        scores = D(real).flatten()
        assert (scores > 1).any() and (scores < 1).any(), "the hinge case does not reach the kink"
    errors = _compare(run_script(SCRIPT, case), reference, cfg)
    bad = {k: v for k, v in errors.items() if not v <= _limit(k)}
    print(loss, "worst relative errors:", {k.split(" ", 2)[-1]: f"{v:.1e}" for k, v in errors.items()
                                           if k.startswith("round 2")})
    assert not bad, f"{loss}: the page's step differs from PyTorch's: {bad}"


def test_script_matches_pytorch_with_two_hidden_layers_in_d_and_odd_widths(run_script):
    """Other sizes: D with two hidden layers (its input gradient then crosses a ReLU) and widths not divisible by 4."""
    case, reference, cfg = _case_and_reference("non-saturating", rounds=2, batch=37, sizes=(3, 11, 3, 9, 2))
    errors = _compare(run_script(SCRIPT, case), reference, cfg)
    assert all(v <= _limit(k) for k, v in errors.items()), errors


# Each mutation breaks one part of the backward pass or of Adam; the check must notice.
MUTATIONS = {
    "ReLU mask dropped": ("if (!(x[i] > 0)) gx[i] = 0;", "gx[i] += 0;"),
    "bias gradient dropped": ("gb[o] += bsum;", ""),
    "input gradient uses the wrong weight": ("h1 * W[w1 + i]", "h1 * W[w0 + i]"),
    "weight gradient misses a row": ("g2 * x[x2 + i] + g3 * x[x3 + i]", "g2 * x[x2 + i]"),
    "forward pass drops the bias": ("v = b[o] + a1;", "v = a1;"),
    "no bias correction": ("var stepSize = this.lr / (1 - Math.pow(b1, this.t))", "var stepSize = this.lr"),
    "hinge's gradient at the kink": ("gr[i] = 1 - r[i] > 0 ? -1 / n : 0;", "gr[i] = -1 / n;"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_check_fails_on_a_broken_backward_pass(mutation, tmp_path, run_script):
    old, new = MUTATIONS[mutation]
    source = SCRIPT.read_text("utf-8")
    assert source.count(old) == 1, f"the script changed: update the mutation {mutation!r}"
    broken = tmp_path / "broken.js"
    broken.write_text(source.replace(old, new), "utf-8")
    loss = "hinge" if "hinge" in mutation else "non-saturating"
    case, reference, cfg = _case_and_reference(loss, rounds=2)
    errors = _compare(run_script(broken, case), reference, cfg)
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


# ---------------------------------------------------------------------- in the browser
MIN_STEPS_PER_SECOND = 20


def _state(pg):
    return pg.evaluate("""() => { const e = document.querySelector('.gc-toygan');
        return {t: performance.now(), step: +e.dataset.step, covered: +e.dataset.covered,
                lossD: parseFloat(e.dataset.lossD), lossG: parseFloat(e.dataset.lossG)}; }""")


def _train_by_keyboard(pg, windows=5, seconds=2.0):
    """Start with the keyboard, measure steps per second over a few windows, pause; return the rates."""
    run = pg.locator(".gc-toygan .gc-tg-run")
    assert run.inner_text() == "Start"
    run.focus()
    pg.keyboard.press("Space")
    assert run.inner_text() == "Pause"
    rates, before = [], _state(pg)
    for _ in range(windows):
        pg.wait_for_timeout(seconds * 1000)
        now = _state(pg)
        rates.append((now["step"] - before["step"]) * 1000 / (now["t"] - before["t"]))
        before = now
    pg.keyboard.press("Enter")                           # the same button, now "Pause"
    assert run.inner_text() == "Start"
    return rates


def _check_trainer(pg, label):
    """Drive one trainer as a keyboard user would; return the median steps per second."""
    import statistics

    root = pg.locator(".gc-toygan")
    pg.wait_for_selector(".gc-toygan.gc-js")
    assert not root.locator(".gc-tg-nojs").is_visible()
    for name in ("Loss", "Learning rate of G", "Learning rate of D", "Steps per frame"):
        assert pg.get_by_label(name, exact=True).count() == 1, name
    rates = _train_by_keyboard(pg)
    median = statistics.median(rates)
    print(f"\n[{label}] steps per second, {len(rates)} windows of 2 s: {[round(r, 1) for r in rates]}, "
          f"median {median:.1f}")
    s = _state(pg)
    assert s["step"] > 0 and math.isfinite(s["lossD"]) and math.isfinite(s["lossG"]), s
    assert 0 <= s["covered"] <= 8
    said = root.locator(".gc-tg-announce")
    assert said.get_attribute("role") == "status" and said.get_attribute("aria-live") == "polite"
    assert said.inner_text().startswith("Paused. Step ") and "modes covered" in said.inner_text()
    assert "modes covered" in root.locator("canvas.gc-tg-plane").get_attribute("aria-label")
    pg.wait_for_timeout(300)
    assert _state(pg)["step"] == s["step"], "training went on after Pause"
    pg.locator(".gc-toygan .gc-tg-step").focus()
    pg.keyboard.press("Enter")
    assert _state(pg)["step"] == s["step"] + 1
    pg.get_by_label("Loss", exact=True).select_option("minimax")
    pg.locator(".gc-toygan .gc-tg-step").click()
    assert _state(pg)["step"] == s["step"] + 2 and math.isfinite(_state(pg)["lossG"])
    assert _state(pg)["lossG"] < 0, "the minimax generator loss, E[log(1 - D(G(z)))], is negative"
    pg.locator(".gc-toygan .gc-tg-reset").click()
    assert _state(pg)["step"] == 0
    # The other controls reach the run: the learning rates go to Adam, steps per frame to the loop.
    pg.get_by_label("Learning rate of G", exact=True).select_option("0.0005")
    pg.get_by_label("Learning rate of D", exact=True).select_option("0.002")
    assert pg.evaluate("() => { const r = document.querySelector('.gc-toygan').gcToyGAN.run;"
                       " return [r.optG.lr, r.optD.lr, r.loss]; }") == [5e-4, 2e-3, "minimax"]
    pg.get_by_label("Steps per frame", exact=True).select_option("10")
    pg.locator(".gc-toygan .gc-tg-run").click()
    pg.wait_for_timeout(1000)
    pg.locator(".gc-toygan .gc-tg-run").click()
    step = _state(pg)["step"]
    assert step >= 10 and step % 10 == 0, step
    assert "D " in root.locator("canvas.gc-tg-losses").get_attribute("aria-label")
    return median


@needs_chromium
def test_standalone_page_trains_over_file(browser, tmp_path):
    from gancourse.interactive import toy_trainer

    page = tmp_path / "toygan.html"
    page.write_text(toy_trainer(*_chapter_run()).standalone_html(), "utf-8")
    pg = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(page.as_uri())
    _check_trainer(pg, "standalone page")
    pg.close()
    assert not errors


@needs_chromium
def test_a_diverged_run_stops_and_says_so(browser, tmp_path):
    """A loss that becomes NaN pauses training with a message, as Trainer raises TrainingDivergedError."""
    from gancourse.interactive import toy_trainer

    page = tmp_path / "toygan.html"
    page.write_text(toy_trainer(*_chapter_run()).standalone_html(), "utf-8")
    pg = browser.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(page.as_uri())
    pg.wait_for_selector(".gc-toygan.gc-js")
    pg.locator(".gc-tg-run").click()
    pg.wait_for_timeout(300)
    pg.evaluate("document.querySelector('.gc-toygan').gcToyGAN.run.D.layers[0].W[0] = NaN")
    pg.wait_for_function("document.querySelector('.gc-tg-run').textContent === 'Start'", timeout=5000)
    said = pg.locator(".gc-tg-announce").inner_text()
    assert said.startswith("Training diverged") and "Press Reset" in said
    pg.locator(".gc-tg-reset").click()
    pg.locator(".gc-tg-step").click()
    assert math.isfinite(_state(pg)["lossD"]) and _state(pg)["step"] == 1
    pg.close()
    assert not errors, errors


@needs_chromium
def test_live_output_starts_when_a_front_end_runs_its_scripts(browser):
    """As JupyterLab renders a trusted output: the HTML goes in with innerHTML, then each script is re-created."""
    from gancourse.interactive import toy_trainer

    html = toy_trainer(*_chapter_run()).live()._repr_html_()
    pg = browser.new_page()
    pg.set_content("<main><div id='out'></div></main>")
    pg.evaluate("""html => { const out = document.getElementById('out'); out.innerHTML = html;
        out.querySelectorAll('script').forEach(old => { const s = document.createElement('script');
            s.textContent = old.textContent; old.replaceWith(s); }); }""", html)
    pg.wait_for_selector(".gc-toygan.gc-js", timeout=5000)
    pg.locator(".gc-tg-step").click()
    assert _state(pg)["step"] == 1
    pg.close()


def _chapter_pages(html_dir):
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)


@needs_chromium
def test_chapter_03_trains_in_the_built_book_over_file_and_http(request, browser):
    """The real chapter: keyboard only, at least 20 steps a second, finite losses, over file:// and http."""
    import functools
    import http.server
    import threading

    html_dir = request.getfixturevalue("built_book")
    chapter = html_dir / "book" / "03_game_theory.html"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}),
        directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    medians = {}
    try:
        for label, url in (("file://", chapter.as_uri()),
                           ("http", f"http://127.0.0.1:{server.server_address[1]}/book/03_game_theory.html")):
            pg = browser.new_page(viewport={"width": 1366, "height": 900})
            errors, remote = [], []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.on("request", lambda r: remote.append(r.url) if not r.url.startswith(
                ("file:", "data:", "http://127.0.0.1")) else None)
            pg.goto(url)
            medians[label] = _check_trainer(pg, f"chapter 03 over {label}")
            pg.close()
            assert not errors and not remote, (errors, remote)
    finally:
        server.shutdown()
        server.server_close()
    assert all(m >= MIN_STEPS_PER_SECOND for m in medians.values()), medians


def test_no_other_page_of_the_built_book_loads_the_trainer(request):
    html_dir = request.getfixturevalue("built_book")
    loading = sorted(str(p.relative_to(html_dir)) for p in _chapter_pages(html_dir)
                     if "gancourse-toygan.js" in p.read_text("utf-8"))
    assert loading == ["book/03_game_theory.html"]


@needs_chromium
def test_chapter_03_trainer_is_accessible_and_fits_a_phone(request, browser):
    """axe-core (WCAG 2 A and AA) on the chapter with the trainer running and paused, at 1366 and 375 px;
    nothing sticks out sideways. Screenshots go to $GANCOURSE_ARTIFACTS."""
    import os
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_browser import _axe, _sideways

    html_dir = request.getfixturevalue("built_book")
    artifacts = Path(os.environ.get("GANCOURSE_ARTIFACTS") or request.getfixturevalue("tmp_path"))
    artifacts.mkdir(parents=True, exist_ok=True)
    found = []
    for width in (1366, 375):
        pg = browser.new_page(viewport={"width": width, "height": 900})
        pg.goto((html_dir / "book" / "03_game_theory.html").as_uri())
        pg.wait_for_selector(".gc-toygan.gc-js")
        pg.locator(".gc-tg-run").click()
        pg.wait_for_timeout(1500)
        pg.locator(".gc-tg-run").click()
        pg.locator(".gc-tg-about summary").click()
        found += [f"at {width} px: {v['rule']}: {v['help']} {v['nodes']}" for v in _axe(pg)]
        extra, culprits = _sideways(pg)
        if extra > 0:
            found.append(f"at {width} px the page scrolls {extra} px sideways: {culprits}")
        pg.locator(".gc-toygan").screenshot(path=str(artifacts / f"toygan-{width}.png"))
        pg.close()
    assert not found, "\n".join(found)
