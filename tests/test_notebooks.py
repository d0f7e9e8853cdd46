"""Notebook CI: every notebook runs with its smoke parameters (papermill), passes nbval
(cells marked NBVAL_CHECK_OUTPUT must reproduce their committed output), and the
book's committed outputs belong to its current code.

Smoke parameters live in tests/smoke/*.yml, one entry per notebook.

exercises/ holds unanswered exercises (generated from solutions/): they run top to bottom,
and their only errors are the unanswered questions' NotImplementedError, in cells tagged
raises-exception, with every graded self-check failing. solutions/ and book/ run error-free.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import nbtools  # noqa: E402

ALL = nbtools.notebooks()
BOOK = nbtools.notebooks(("book",))
ids = [str(p.relative_to(nbtools.ROOT)) for p in ALL]


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_structure(path):
    nb = nbtools.load(path)
    rel = str(path.relative_to(nbtools.ROOT))
    assert nbtools.SETUP_TAG in _tags(nb["cells"][0]), f"{rel}: first cell is not the Colab set-up cell"
    assert any("parameters" in _tags(c) for c in nb["cells"] if c["cell_type"] == "code"), \
        f"{rel}: no cell tagged 'parameters'"
    assert rel in nbtools.smoke_parameters(), f"{rel}: no entry in tests/smoke/*.yml"


def test_setup_cells_in_sync():
    out = subprocess.run([sys.executable, str(nbtools.ROOT / "scripts" / "sync_notebooks.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _run_setup_cell(monkeypatch, in_colab: bool) -> list:
    """Run the set-up cell's source with subprocess.run recorded (and Colab faked when asked)."""
    import types

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(args))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(nbtools.setup_cell_source(), {})
    return calls


def test_setup_cell_installs_the_release_and_keeps_ipywidgets(monkeypatch, capsys):
    """In Colab: gancourse at the tag of this version, Colab's own ipywidgets pinned as installed
    (its front end needs 7.x; a change would need a restart), nothing upgraded. Elsewhere: nothing."""
    from importlib.metadata import version

    assert _run_setup_cell(monkeypatch, in_colab=False) == [] and capsys.readouterr().out == ""
    (args,) = _run_setup_cell(monkeypatch, in_colab=True)
    url, _ = nbtools.repository()
    pyproject = (nbtools.ROOT / "pyproject.toml").read_text()
    assert f'version = "{nbtools.package_version()}"' in pyproject and nbtools.release_tag().startswith("v")
    assert args[:5] == [sys.executable, "-m", "pip", "install", "-q"]
    assert args[5:] == [f"gancourse @ git+{url}@{nbtools.release_tag()}", f"ipywidgets=={version('ipywidgets')}"]
    assert capsys.readouterr().out.startswith("device: ")


@pytest.mark.parametrize("path", BOOK, ids=[str(p.relative_to(nbtools.ROOT)) for p in BOOK])
def test_committed_outputs_are_current(path):
    """The book shows committed outputs: they must come from this code, run top to bottom, error-free."""
    nb = nbtools.load(path)
    stamp = nb["metadata"].get("gancourse", {})
    assert stamp.get("code_hash") == nbtools.code_hash(nb), \
        f"{path.name}: code changed since its outputs were made; run python scripts/execute_notebooks.py {path.relative_to(nbtools.ROOT)}"
    counts = []
    for cell in nb["cells"][1:]:
        if cell["cell_type"] == "markdown":  # prose is written from the outputs, never left for later
            assert "TODO" not in "".join(cell["source"]), f"{path.name}: a markdown cell still says TODO"
        if cell["cell_type"] != "code":
            continue
        assert cell.get("execution_count") is not None, f"{path.name}: a code cell was not executed"
        counts.append(cell["execution_count"])
        for out in cell.get("outputs", []):
            if "raises-exception" not in _tags(cell):
                assert out.get("output_type") != "error", f"{path.name}: error output {out.get('ename')}"
            text = "".join(out.get("text", "")) if out.get("output_type") == "stream" else ""
            assert "Traceback (most recent call last)" not in text, f"{path.name}: a traceback is shown"
    assert counts == sorted(counts), f"{path.name}: cells were not run top to bottom"


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_papermill_smoke(path, tmp_path):
    import papermill as pm

    rel = str(path.relative_to(nbtools.ROOT))
    out = tmp_path / path.name
    try:
        pm.execute_notebook(str(path), str(out), parameters=nbtools.smoke_parameters().get(rel, {}),
                            cwd=str(path.parent), kernel_name="python3", progress_bar=False,
                            execution_timeout=600)
    except pm.PapermillExecutionError:
        if not nbtools.is_exercise(path):
            raise
    if nbtools.is_exercise(path):
        # An unanswered exercise: papermill reports its self-checks' errors; check that they are
        # exactly the expected ones (see nbtools.unanswered_exercise_problems).
        problems = nbtools.unanswered_exercise_problems(nbtools.load(out))
        assert not problems, f"{rel}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_nbval(path, tmp_path):
    """nbval --nbval-lax on the committed notebook with its smoke parameters injected.

    A notebook that takes a ``checkpoint_dir`` gets one under ``tmp_path``: its default, a
    TemporaryDirectory removed when the kernel exits, stays behind when nbval kills the kernel.
    (The papermill test keeps the default, so that path is run too.)
    """
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    rel = str(path.relative_to(nbtools.ROOT))
    nb = load_notebook_node(str(path))  # papermill's loader: it gives every cell a tags list
    params = dict(nbtools.smoke_parameters().get(rel, {}))
    declared = "".join(c.source for c in nb.cells if "parameters" in c.metadata.tags)
    if re.search(r"^checkpoint_dir\s*=", declared, re.M):
        params["checkpoint_dir"] = str(tmp_path)
    nb = parameterize_notebook(nb, params, kernel_name="python3")
    copy = path.parent / f".nbval-{path.name}"
    nbformat.write(nb, str(copy))
    try:
        out = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                              "--nbval-cell-timeout=600", str(copy)],
                             capture_output=True, text=True, cwd=str(path.parent), env={**os.environ})
    finally:
        copy.unlink()
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_code_hash_sees_what_runs_not_the_layout():
    """Wrapping a line or rewording a comment keeps the outputs current; changing code does not."""
    def nb(*sources):
        return {"cells": [{"cell_type": "code", "metadata": {}, "source": s} for s in sources]}

    one_line = 'x = f(1, "ab")  # a comment\nprint(x)'
    wrapped = 'x = f(\n    1,\n    "a" "b",\n)\n# another comment\nprint(x)'
    assert nbtools.code_hash(nb(one_line)) == nbtools.code_hash(nb(wrapped))
    assert nbtools.code_hash(nb(one_line)) != nbtools.code_hash(nb('x = f(1, "ac")\nprint(x)'))
    assert nbtools.code_hash(nb(one_line)) != nbtools.code_hash(nb(one_line, "y = 1"))
    # IPython syntax counts as the call it makes
    assert nbtools.code_hash(nb("%time x = 1")) != nbtools.code_hash(nb("%timeit x = 1"))
    assert nbtools.code_hash(nb("!ls  -l")) != nbtools.code_hash(nb("!ls -a"))
