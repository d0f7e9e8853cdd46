"""Colab as students meet it: ipywidgets 7.7.1, and the package alone, installed from its wheel.

One clean virtual environment holds only what the Colab set-up cell installs (gancourse, here
from a wheel built from this checkout) and what Colab has: torch, torchvision, matplotlib, numpy,
tqdm, pyyaml, ipykernel, and ipywidgets 7.7.1, the version Colab's front end supports. In it:

- the interactive tests run (tests/test_interactive.py; pytest is lent from outside the
  environment, on PYTHONPATH, and the run checks that it imports the wheel and ipywidgets 7.7.1);
- the chapters that show widgets (02, 08, 09, 11) and an exercise notebook run through papermill
  with their smoke parameters, each copied alone into an empty folder, with PYTHONPATH unset and
  the kernel started there: nothing can come from the repository. A last cell appended to each
  copy reports where gancourse and ipywidgets were imported from. A chapter must show no error
  output and no traceback, and must display a live widget (a view of a model its kernel created)
  in exactly the cells that show one in the committed outputs (made with ipywidgets 8). The
  exercise must fail only where its questions are unanswered.

Building the environment installs torch (about a minute from a local package index, longer from
PyPI) and needs the network or a package index; CI runs it. Set GANCOURSE_SKIP_COLAB=1 to skip
these tests on a machine without either.
"""
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import nbtools  # noqa: E402

ROOT = nbtools.ROOT
IPYWIDGETS = "7.7.1"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
KERNEL = "gancourse-colab-like"
NOTEBOOKS = ["book/02_fundamentals.ipynb", "book/08_case_study.ipynb", "book/09_cgan.ipynb",
             "book/11_stylegan.ipynb", "exercises/08_case_study.ipynb"]
PROBE = ("import gancourse, ipywidgets\n"
         "print('gancourse from', gancourse.__file__)\n"
         "print('ipywidgets', ipywidgets.__version__)")

pytestmark = [pytest.mark.skipif(os.environ.get("GANCOURSE_SKIP_COLAB") == "1", reason="GANCOURSE_SKIP_COLAB=1"),
              pytest.mark.timeout(1800)]   # the first test also builds the environment


def _clean_env(**extra) -> dict:
    """The environment without PYTHONPATH (nothing from the repository) and without a venv's marks."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


def _run(args, **kw):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def _pinned(name: str) -> str:
    """``name==version`` of what this environment runs (the same torch build as the main tests)."""
    from importlib.metadata import version

    return f"{name}=={version(name).split('+')[0]}"


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A wheel of this checkout, installed with Colab's packages into a fresh venv, and a kernel spec."""
    tmp = tmp_path_factory.mktemp("colab")
    # The wheel is built from a copy of what a release holds, so the checkout gets no build files.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "gancourse", src / "gancourse", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", src], env=_clean_env())
    (wheel,) = (tmp / "dist").glob("gancourse-*.whl")

    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", "--no-compile", wheel, _pinned("torch"), _pinned("torchvision"), "matplotlib",
          "numpy", "tqdm", "pyyaml", "ipykernel", f"ipywidgets=={IPYWIDGETS}"], env=_clean_env(), timeout=1500)
    kernels = tmp / "jupyter" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like (ipywidgets 7.7.1)", "language": "python"}))
    yield {"tmp": tmp, "wheel": wheel, "python": python, "env_dir": env_dir, "jupyter": tmp / "jupyter"}
    shutil.rmtree(env_dir, ignore_errors=True)   # several GB (torch's CUDA libraries)


def test_the_wheel_carries_the_weights_quizzes_and_page_assets(colab):
    names = set(zipfile.ZipFile(colab["wheel"]).namelist())
    wanted = [p.relative_to(ROOT).as_posix() for folder in ("weights", "quizzes", "interactive/static")
              for p in (ROOT / "gancourse" / folder).iterdir() if p.is_file()]
    assert any(w.endswith(".pt") for w in wanted) and any(w.endswith(".yaml") for w in wanted)
    missing = [w for w in wanted if w not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_interactive_tests_pass_with_ipywidgets_7(colab):
    lent = colab["tmp"] / "pytest-lib"   # pytest for this run only: the environment stays clean
    _run([sys.executable, "-m", "pip", "install", "-q", "--target", lent, "pytest"], env=_clean_env())
    driver = (f"import sys, gancourse, ipywidgets, pytest\n"
              f"assert gancourse.__file__.startswith({str(colab['env_dir'])!r}), gancourse.__file__\n"
              f"assert ipywidgets.__version__ == {IPYWIDGETS!r}, ipywidgets.__version__\n"
              f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {str(ROOT / 'tests' / 'test_interactive.py')!r}]))")
    # Run from an empty folder, so that the checkout's gancourse is not on sys.path.
    work = colab["tmp"] / "interactive"
    work.mkdir()
    _run([colab["python"], "-c", driver], cwd=work, env=_clean_env(PYTHONPATH=str(lent)), timeout=600)


def _widget_cells(nb) -> set:
    return {c["id"] for c in nb["cells"] if c["cell_type"] == "code"
            and any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))}


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebook_alone_in_a_colab_like_kernel(colab, rel, tmp_path):
    import nbformat
    import papermill as pm

    source = ROOT / rel
    folder = tmp_path / "alone"
    folder.mkdir()
    nb = nbformat.read(str(source), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE, id="colab-like-probe"))
    copy = folder / source.name
    nbformat.write(nb, str(copy))
    out = tmp_path / "executed.ipynb"
    params = nbtools.smoke_parameters()[rel]
    with pytest.MonkeyPatch.context() as mp:
        for name in ("PYTHONPATH", "VIRTUAL_ENV"):
            mp.delenv(name, raising=False)
        mp.setenv("JUPYTER_PATH", str(colab["jupyter"]))
        mp.setenv("GANCOURSE_CACHE", str(colab["tmp"] / "cache"))
        try:
            pm.execute_notebook(str(copy), str(out), parameters=params, cwd=str(folder), kernel_name=KERNEL,
                                progress_bar=False, execution_timeout=600)
        except pm.PapermillExecutionError:
            if not nbtools.is_exercise(source):
                raise
    ran = nbformat.read(str(out), as_version=4)
    probe = "".join(o.get("text", "") for o in ran.cells[-1].outputs if o.output_type == "stream")
    assert f"gancourse from {colab['env_dir']}" in probe and f"ipywidgets {IPYWIDGETS}" in probe, probe

    if nbtools.is_exercise(source):
        problems = nbtools.unanswered_exercise_problems(json.loads(out.read_text()))
        assert not problems, f"{rel}:\n  " + "\n  ".join(problems)
        return
    for cell in ran.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", f"{rel}: cell {cell.id} raised {o.get('ename')}: {o.get('evalue')}"
            text = o.get("text", "") if o.output_type == "stream" else ""
            assert "Traceback" not in text, f"{rel}: cell {cell.id} printed a traceback:\n{text[-2000:]}"
    committed = _widget_cells(nbtools.load(source))
    assert committed, f"{rel} shows no widget in its committed outputs"
    assert _widget_cells(ran) == committed
    state = ran.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    views = [o.data[WIDGET_VIEW]["model_id"] for c in ran.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})]
    assert views and all(v in state for v in views), "a widget view names a model its kernel never created"
