"""Generators that run in the page: the exporter and ``gancourse-generator.js``.

- Layer by layer (node): each layer type the shipped generators use, alone, exported and
  replayed by the page's interpreter, against PyTorch.
- Whole generators (node): every shipped generator the book's explorers use, and a randomly
  initialised ``DeepDCGANGenerator`` (with batch-norm statistics of its own).
- In the browser (headless Chromium, a throwaway book built here with the book's settings):
  the shipped explorers run live over file:// and over http; the page's images match
  ``LatentExplorer.render`` (PyTorch) for combined slider positions, classes, ψ and style
  mixing; New z and Play A → B work; each update's time is measured (median and worst case
  printed); a page without an explorer loads no weights; no overflow at 375 px.

Tolerance: max |difference| <= 1e-3 on the [-1, 1] output (measured: a few 1e-6; the
weights are the same float16 values on both sides, only float32 arithmetic order differs).
"""
import functools
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

import gancourse
from gancourse.interactive.export import (ExportError, export_generator, export_module, page_entry,
                                          weights_script)

ROOT = Path(__file__).resolve().parent.parent
GENERATOR_JS = ROOT / "gancourse" / "interactive" / "static" / "gancourse-generator.js"
HARNESS = ROOT / "tests" / "js" / "run_generator.js"
NODE = shutil.which("node")
CHROMIUM = Path("/usr/bin/chromium")
TOL = 1e-3
SHIPPED = ["dcgan-mnist", "cdcgan-mnist", "stylegan7-mnist", "dcgan-mnist-deep"]   # the book's explorers use these

needs_node = pytest.mark.skipif(NODE is None, reason="needs node (v18+)")


def _tensor(t):
    return {"shape": list(t.shape), "data": t.detach().float().flatten().tolist()}


def _node(tmp_path, scripts, cases, wasm=True):
    """Run the cases in node; ``wasm=False`` forbids the WebAssembly product (the plain JavaScript one runs)."""
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps({"generator_js": str(GENERATOR_JS), "scripts": [str(s) for s in scripts],
                                "cases": cases, "no_wasm": not wasm}))
    proc = subprocess.run([NODE, str(HARNESS), str(spec)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wasm"] is wasm, f"node {'did not use' if wasm else 'used'} the WebAssembly product"
    return out["results"]


def _half(module):
    """The module with every float parameter and buffer rounded to float16 (as the page stores them)."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return module.eval()


class _Layer(nn.Module):
    """One layer as a tiny 'generator' with a forward of its own."""

    def __init__(self, fn, **modules):
        super().__init__()
        self.fn = fn
        for k, m in modules.items():
            setattr(self, k, m)

    def forward(self, *x):
        return self.fn(self, *x)


def _randomise_bn(m):
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.uniform_(-0.5, 0.5)
            b.running_var.uniform_(0.5, 2.0)
            b.weight.data.uniform_(0.5, 1.5)
            b.bias.data.uniform_(-0.3, 0.3)
    return m


def _layers():
    from gancourse.stylegan import AdaIN, MappingNetwork, NoiseInjection, PixelNorm

    torch.manual_seed(0)
    x4 = torch.randn(2, 6, 7, 7)
    cases = {
        "linear": (_Layer(lambda s, x: s.l(x), l=nn.Linear(10, 12)), (torch.randn(2, 10),)),
        "linear no bias + unflatten": (_Layer(lambda s, x: s.u(s.l(x)), l=nn.Linear(10, 12, bias=False),
                                              u=nn.Unflatten(1, (3, 2, 2))), (torch.randn(2, 10),)),
        "view": (_Layer(lambda s, x: s.l(x).view(-1, 3, 2, 2), l=nn.Linear(5, 12)), (torch.randn(2, 5),)),
        "batchnorm2d eval": (_randomise_bn(_Layer(lambda s, x: s.b(x), b=nn.BatchNorm2d(6))), (x4,)),
        "convtranspose s2 p2 op1": (_Layer(lambda s, x: s.c(x), c=nn.ConvTranspose2d(6, 4, 5, 2, 2, 1)), (x4,)),
        "convtranspose s1 p2 no bias": (_Layer(lambda s, x: s.c(x), c=nn.ConvTranspose2d(6, 4, 5, 1, 2, bias=False)),
                                        (x4,)),
        "convtranspose k4 s1 p0": (_Layer(lambda s, x: s.c(x), c=nn.ConvTranspose2d(6, 3, 4)), (x4,)),
        "convtranspose k4 s2 p1": (_Layer(lambda s, x: s.c(x), c=nn.ConvTranspose2d(6, 3, 4, 2, 1)), (x4,)),
        "conv2d 3x3 p1": (_Layer(lambda s, x: s.c(x), c=nn.Conv2d(6, 5, 3, padding=1)), (x4,)),
        "conv2d 5x5 s2 p2": (_Layer(lambda s, x: s.c(x), c=nn.Conv2d(6, 5, 5, 2, 2)), (x4,)),
        "conv2d 1x1": (_Layer(lambda s, x: s.c(x), c=nn.Conv2d(6, 1, 1)), (x4,)),
        "relu": (_Layer(lambda s, x: torch.relu(x)), (x4,)),
        "leaky relu 0.2": (_Layer(lambda s, x: s.a(x), a=nn.LeakyReLU(0.2)), (x4,)),
        "tanh": (_Layer(lambda s, x: torch.tanh(x)), (x4,)),
        "sigmoid": (_Layer(lambda s, x: torch.sigmoid(x)), (x4,)),
        "embedding + concat": (_Layer(lambda s, z, y: torch.cat([z, s.e(y)], 1), e=nn.Embedding(10, 4)),
                               (torch.randn(2, 3), torch.tensor([7, 2]))),
        "pixel norm": (_Layer(lambda s, x: s.p(x), p=PixelNorm()), (torch.randn(2, 9),)),
        "mapping network": (_Layer(lambda s, x: s.m(x), m=MappingNetwork(8, 6, 2)), (torch.randn(2, 8),)),
        "adain": (_Layer(lambda s, x, w: s.a(x, w), a=AdaIN(6, 5)), (x4, torch.randn(2, 5))),
        "noise injection (eval: fixed map)": (_Layer(lambda s, x: s.n(x), n=NoiseInjection(6, 7)), (x4,)),
        # a parameter used directly, expanded over the batch, times a slice of the input
        # (SynthesisNetwork.const and its ws[:, i])
        "constant expand + select": (_ConstLayer(), (torch.randn(2, 3, 5),)),
    }
    with torch.no_grad():
        for m, _ in cases.values():
            for p in m.parameters():
                if p.dim() > 0:
                    p.add_(0.1 * torch.randn_like(p))    # noise strengths start at 0: make them matter
    return cases


class _ConstLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, 3, 4))

    def forward(self, ws):
        return self.const.expand(ws.shape[0], -1, -1) * ws[:, 1, :3, None]


@needs_node
@pytest.mark.parametrize("wasm", [True, False], ids=["wasm", "plain-js"])
def test_each_layer_matches_pytorch(tmp_path, wasm):
    scripts, cases, names = [], [], []
    for k, (name, (module, inputs)) in enumerate(_layers().items()):
        module = _half(module)
        with torch.no_grad():
            expected = module(*inputs)
        path = tmp_path / f"layer{k}.js"
        path.write_text(page_entry(f"layer{k}", export_module(module, {"forward": inputs})))
        scripts.append(path)
        cases.append({"model": f"layer{k}", "graph": "forward", "inputs": [_tensor(t) for t in inputs],
                      "expected": _tensor(expected)})
        names.append(name)
    results = _node(tmp_path, scripts, cases, wasm)
    bad = {n: r for n, r in zip(names, results) if not (r["shape_ok"] and r["max_abs"] <= 1e-5)}
    print({n: f"{r['max_abs']:.1e}" for n, r in zip(names, results)})
    assert not bad, f"layers that differ from PyTorch: {bad}"


def _generator_cases(name, G, seed=0):
    from gancourse.interactive.export import graph_inputs

    g = torch.Generator().manual_seed(seed)
    cases = []
    for method, example in graph_inputs(G).items():
        inputs = [torch.randn(example[0].shape, generator=g)] + ([torch.tensor([7])] if len(example) > 1 else [])
        with torch.no_grad():
            out = (G if method == "forward" else getattr(G, method))(*inputs)
        cases.append({"model": name, "graph": method, "inputs": [_tensor(t) for t in inputs],
                      "expected": _tensor(out)})
    return cases


@needs_node
@pytest.mark.parametrize("wasm", [True, False], ids=["wasm", "plain-js"])
def test_shipped_generators_and_a_deep_dcgan_match_pytorch(tmp_path, wasm):
    from gancourse.models import DeepDCGANGenerator

    scripts, cases = [], []
    for name in SHIPPED:
        G = gancourse.pretrained(name)
        path = tmp_path / f"{name}.js"
        path.write_text(weights_script(name, G))
        scripts.append(path)
        cases += _generator_cases(name, G)
    torch.manual_seed(1)
    deep = _half(_randomise_bn(DeepDCGANGenerator()))
    path = tmp_path / "deep.js"
    path.write_text(page_entry("deep", export_generator(deep)))
    scripts.append(path)
    cases += _generator_cases("deep", deep)
    results = _node(tmp_path, scripts, cases, wasm)
    report = [(c["model"], c["graph"], f"{r['max_abs']:.1e}", f"{r['ms']:.0f} ms") for c, r in zip(cases, results)]
    print(f"\n[generator page] node ({'WebAssembly' if wasm else 'plain JavaScript'} product), "
          f"max |JS - PyTorch| and one run's time:", report)
    assert all(r["shape_ok"] and r["max_abs"] <= TOL for r in results), report


@needs_node
def test_the_interpreter_catches_a_wrong_kernel(tmp_path):
    """The comparison can fail: a generator with one weight changed after export differs."""
    G = gancourse.pretrained("dcgan-mnist")
    path = tmp_path / "g.js"
    path.write_text(weights_script("dcgan-mnist", G))
    with torch.no_grad():
        G.net[0].weight[0, 0, 2, 2] += 0.5
    results = _node(tmp_path, [path], _generator_cases("dcgan-mnist", G))
    assert results[0]["max_abs"] > TOL


def test_the_webassembly_bytes_are_compiled_from_their_source():
    """gancourse-generator.js carries gemm.wat compiled (needs wabt's wat2wasm: PATH or $WAT2WASM)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_gemm_wasm", ROOT / "scripts" / "build_gemm_wasm.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    if build.wat2wasm() is None:
        pytest.skip("wat2wasm (wabt) is not installed")
    assert build.compiled() == build.embedded(), "run python scripts/build_gemm_wasm.py"


def test_an_unsupported_operation_is_an_export_error():
    layer = _Layer(lambda s, x: torch.sin(x))
    with pytest.raises(ExportError, match="aten.sin"):
        export_module(layer, {"forward": (torch.randn(1, 3),)})


def test_only_an_unchanged_shipped_generator_runs_in_the_page():
    from gancourse.interactive import LatentExplorer
    from gancourse.models import DCGANGenerator

    G = gancourse.pretrained("dcgan-mnist")
    def note(html):
        return re.search(r'<p class="gc-frames-note">(.*?)</p>', html).group(1)

    live = LatentExplorer(G, n_samples=32).html()
    assert 'data-gancourse-model="dcgan-mnist"' in live and "one slider moves at a time" not in note(live)
    assert "every control combines with the others" in note(live)
    assert "New z" in live and "Play A → B" in live
    with torch.no_grad():
        G.project.bias.add_(0.01)                     # "trained on" after loading
    edited = LatentExplorer(G, n_samples=32).html()
    assert "data-gancourse-model" not in edited and "one slider moves at a time" in note(edited)
    plain = LatentExplorer(DCGANGenerator(), n_samples=32).html()
    assert "data-gancourse-model" not in plain


# ------------------------------------------------------------------ in the browser
EXPLORERS = {   # name: (model, LatentExplorer keyword arguments), as the chapters use them
    "dcgan": ("dcgan-mnist", dict(directions="pca", n_directions=3, seeds=(3, 11, 0), scale=6)),
    "cdcgan": ("cdcgan-mnist", dict(directions="pca", n_directions=3, seeds=(3, 11, 0), scale=6)),
    "style": ("stylegan7-mnist", dict(directions="pca", n_directions=3, seeds=(3, 11, 5), scale=6)),
    "deep": ("dcgan-mnist-deep", dict(directions="pca", n_directions=3, seeds=(3, 11, 0), scale=6)),
}


@pytest.fixture(scope="module")
def live_book(tmp_path_factory):
    """A two-page book: the shipped explorers (outputs made here), and a page without one."""
    import nbformat

    from test_browser import build_tiny_book

    from gancourse.interactive import LatentExplorer

    book = tmp_path_factory.mktemp("live-book")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Live explorers")]
    explorers = {}
    for key, (model, kwargs) in EXPLORERS.items():
        ex = LatentExplorer(gancourse.pretrained(model), **kwargs)
        explorers[key] = ex
        cell = nbformat.v4.new_code_cell(f"LatentExplorer(gancourse.pretrained({model!r}), **{kwargs!r})")
        bundle = ex._repr_mimebundle_(include=["text/html", "text/plain"])
        cell.outputs = [nbformat.v4.new_output("execute_result", data=bundle, execution_count=1)]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "plain.md").write_text("# No explorer here\n\nJust text.\n", "utf-8")
    return build_tiny_book(book, "Live explorers", nb, chapters=["plain"]), explorers


@pytest.fixture(scope="module")
def http_root(live_book):
    from test_browser import _QuietHandler

    handler = functools.partial(_QuietHandler, directory=str(live_book[0]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _open(browser, url, width=1366):
    pg = browser.new_page(viewport={"width": width, "height": 900})
    errors, requests = [], []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    # the browser's own request for /favicon.ico (no such file in a book) is not the page's
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in str(m.location)
          and "Failed to load resource" not in m.text else None)
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(url)
    pg.wait_for_load_state("load")
    return pg, errors, requests


def _image(pg, index):
    return pg.evaluate("(i) => Array.from(document.querySelectorAll('.gc-frames')[i].gancourseLive.last.data)", index)


def _set(pg, index, **positions):
    """Move sliders (by position index) and the class drop-down like a user: input/change events."""
    pg.evaluate("""([i, pos]) => { const root = document.querySelectorAll('.gc-frames')[i];
        for (const [name, v] of Object.entries(pos)) {
          const el = root.querySelector('[data-control="' + name + '"]');
          el.value = String(v); el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input'));
        } }""", [index, positions])


def _values(ex, positions):
    out = {}
    for name, pos in positions.items():
        if ex.product is not None and name == ex.product.name:
            out[name] = ex.product.values[pos]
        else:
            out[name] = next(c for c in ex.controls if c.name == name).values[pos]
    return out


# Combined positions: several sliders off their defaults at once (the point of the live page).
COMBOS = {
    "dcgan": [{"t": 3, "psi": 7, "d1": 9, "d2": 2}, {"t": 10, "d3": 12, "d1": 0}],
    "cdcgan": [{"label": 7, "t": 4, "psi": 8, "d2": 10, "d3": 3}, {"label": 2, "t": 0, "d1": 11}],
    "style": [{"t": 6, "psi": 5, "d1": 8, "mix": 4}, {"mix": 2, "d3": 1, "psi": 10, "t": 0}],
    "deep": [{"t": 7, "psi": 6, "d1": 2, "d3": 11}, {"t": 1, "d2": 12, "psi": 3}],
}


@pytest.mark.parametrize("scheme", ["file", "http"])
def test_the_explorers_run_live_and_match_pytorch(browser, live_book, http_root, scheme, request):
    html, explorers = live_book
    url = (html / "page.html").as_uri() if scheme == "file" else http_root + "page.html"
    pg, errors, requests = _open(browser, url)
    pg.wait_for_function(f"document.querySelectorAll('.gc-frames.gc-live').length === {len(EXPLORERS)}",
                         timeout=60000)
    scripts = pg.evaluate("Array.from(document.scripts).map(s => s.src).filter(s => s.includes('gancourse-weights'))")
    assert sorted(Path(s.split("?")[0]).name for s in scripts) == sorted(f"{m}.js" for m, _ in EXPLORERS.values())
    worst = {}
    for i, key in enumerate(EXPLORERS):
        ex = explorers[key]
        default = torch.tensor(_image(pg, i))
        assert (default - ex.render(**ex.defaults()).flatten()).abs().max() <= TOL
        start = {c.name: c.default for c in ex.controls}
        if ex.product is not None:
            start[ex.product.name] = ex.product.default
        for combo in COMBOS[key]:
            _set(pg, i, **{**start, **combo})
            values = {**ex.defaults(), **_values(ex, combo)}
            # every control moved by this combination is still where it was put
            for name, pos in combo.items():
                assert pg.evaluate("([i, n]) => document.querySelectorAll('.gc-frames')[i]"
                                   ".querySelector('[data-control=\"' + n + '\"]').value", [i, name]) == str(pos)
            got = torch.tensor(_image(pg, i))
            diff = float((got - ex.render(**values).flatten()).abs().max())
            worst[key] = max(worst.get(key, 0.0), diff)
            assert diff <= TOL, f"{key} {combo}: max |page - PyTorch| = {diff:.2e}"
            ex.values = ex.defaults()
    print(f"\n[generator page] {scheme}: max |page - PyTorch| per explorer: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    remote = [u for u in requests if not u.startswith(("file:", "data:", http_root))]
    assert not remote and not errors, (remote, errors)
    pg.close()


def test_new_z_play_and_timing(browser, live_book):
    html, explorers = live_book
    pg, errors, _ = _open(browser, (html / "page.html").as_uri())
    pg.wait_for_function(f"document.querySelectorAll('.gc-frames.gc-live').length === {len(EXPLORERS)}",
                         timeout=60000)
    roots = pg.locator(".gc-frames")
    # New z: a different image, the picture's name says so, the announcement too.
    before = _image(pg, 0)
    roots.nth(0).get_by_role("button", name="New z").click()
    assert _image(pg, 0) != before
    assert "code A drawn at random" in roots.nth(0).locator(".gc-view").get_attribute("aria-label")
    assert "new random draw" in roots.nth(0).locator(".gc-announce").inner_text()
    # Play A → B: t runs to 1 with renders on the way.
    n0 = int(roots.nth(1).get_attribute("data-live-renders"))
    roots.nth(1).get_by_role("button", name="Play A → B").click()
    pg.wait_for_function("document.querySelectorAll('.gc-frames')[1].querySelector('.gc-play')"
                         ".getAttribute('aria-pressed') === 'false'", timeout=30000)
    assert int(roots.nth(1).get_attribute("data-live-renders")) - n0 >= 5
    assert roots.nth(1).locator('[data-control="t"]').input_value() == "10"
    ex = explorers["cdcgan"]
    assert (torch.tensor(_image(pg, 1)) - ex.render(**{**ex.defaults(), "t": 1.0}).flatten()).abs().max() <= TOL
    # Timing: every slider position of every explorer, one input event each.
    assert pg.evaluate("gancourseGenerator.usesWasm()"), "Chromium did not use the WebAssembly product"
    report = {}
    for i, key in enumerate(EXPLORERS):
        pg.evaluate("(i) => { document.querySelectorAll('.gc-frames')[i].gancourseLive.timings.length = 0; }", i)
        for c in explorers[key].controls:
            for pos in list(range(len(c.values))) + [c.default]:
                _set(pg, i, **{c.name: pos})
        times = pg.evaluate("(i) => document.querySelectorAll('.gc-frames')[i].gancourseLive.timings", i)
        times.sort()
        report[key] = (statistics.median(times), times[int(0.9 * (len(times) - 1))], times[-1], len(times))
    load = os.getloadavg()[0]
    print("\n[generator page] time per update in headless Chromium (latent, generator, drawing), "
          f"load average {load:.1f} on {os.cpu_count()} CPUs: "
          + ", ".join(f"{k}: median {m:.1f} ms, 90th percentile {p:.1f} ms, worst {w:.1f} ms over {n}"
                      for k, (m, p, w, n) in report.items()))
    # The budget holds for nine updates in ten; the worst case is printed, not asserted: on a
    # shared machine one update now and then waits for the CPU.
    budget = float(os.environ.get("GANCOURSE_LIVE_BUDGET_MS", "50"))
    slow = {k: v for k, v in report.items() if v[1] > budget}
    assert not slow, f"updates slower than {budget} ms at the 90th percentile: {slow}"
    assert not errors, errors
    pg.close()


def test_a_page_without_an_explorer_loads_no_weights(browser, live_book):
    html, _ = live_book
    text = (html / "plain.html").read_text("utf-8")
    assert "gancourse-weights" not in text and "gancourse-generator.js" not in text
    pg, errors, requests = _open(browser, (html / "plain.html").as_uri())
    assert not [u for u in requests if "gancourse-weights" in u or "gancourse-generator" in u]
    assert not errors
    pg.close()


@pytest.mark.parametrize("damage", ["missing", "broken"])
def test_a_missing_or_broken_weights_file_falls_back_to_the_frames(browser, live_book, tmp_path, damage):
    html, _ = live_book
    copy = tmp_path / "html"
    shutil.copytree(html, copy)
    weights = copy / "_static" / "gancourse-weights" / "dcgan-mnist.js"
    if damage == "missing":
        weights.unlink()
    else:                              # an op the interpreter does not know: it throws on the first image
        weights.write_text(weights.read_text("utf-8").replace('"aten.tanh.default"', '"aten.nosuch.default"'))
    pg, errors, _ = _open(browser, (copy / "page.html").as_uri())
    pg.wait_for_selector(".gc-frames.gc-js")
    first = pg.locator(".gc-frames").first
    assert "gc-live" not in first.get_attribute("class")
    assert "one slider moves at a time" in first.locator(".gc-frames-note").inner_text()
    assert first.locator(".gc-live-buttons").is_hidden() and first.locator("canvas").count() == 0
    pg.wait_for_function(f"document.querySelectorAll('.gc-frames.gc-live').length === {len(EXPLORERS) - 1}",
                         timeout=60000)                            # the other explorers still run
    assert bool(errors) is (damage == "broken")                  # the broken model is named in the console
    pg.close()


@pytest.mark.parametrize("width", [1366, 375])
def test_live_explorers_fit_and_show(browser, live_book, width):
    html, _ = live_book
    artifacts = Path(os.environ.get("GANCOURSE_ARTIFACTS") or html.parent)
    artifacts.mkdir(parents=True, exist_ok=True)
    pg, errors, _ = _open(browser, (html / "page.html").as_uri(), width=width)
    pg.wait_for_function(f"document.querySelectorAll('.gc-frames.gc-live').length === {len(EXPLORERS)}",
                         timeout=60000)
    _set(pg, 2, t=4, psi=7, mix=4)
    for i in range(3):
        pg.locator(".gc-frames").nth(i).screenshot(path=str(artifacts / f"live-explorer-{i}-{width}.png"))
    assert pg.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    wide = pg.evaluate("""() => [...document.querySelectorAll('.gc-frames *')].filter(e => {
        const r = e.getBoundingClientRect(), box = e.closest('.gc-frames').getBoundingClientRect();
        return r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1); }).map(e => e.className || e.tagName)""")
    assert not wide, f"elements overflow their explorer at {width} px: {wide}"
    assert not errors
    pg.close()


def test_axe_finds_no_wcag2_violation_on_the_live_explorers(browser, live_book):
    from test_browser import _axe

    html, _ = live_book
    for width in (1366, 375):
        pg, errors, _ = _open(browser, (html / "page.html").as_uri(), width=width)
        pg.wait_for_function("[...document.querySelectorAll('.gc-frames')].every(e => e.classList.contains('gc-live') "
                             "&& e.classList.contains('gc-a11y'))", timeout=60000)
        pg.locator(".gc-frames").nth(1).get_by_role("button", name="New z").click()
        _set(pg, 2, psi=6, mix=3)
        violations = _axe(pg)
        pg.close()
        assert not violations, f"at {width} px: {json.dumps(violations, indent=1, ensure_ascii=False)}"
