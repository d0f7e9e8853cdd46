"""Shared notebook helpers for the scripts and the tests: finding notebooks, the
"Running this notebook" first cell (and the release it installs), smoke parameters, and the
execution stamp.

It does not execute anything itself; `execute_notebooks.py` and the tests do.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("book", "solutions", "exercises")
SMOKE_DIR = ROOT / "tests" / "smoke"
SETUP_TAG = "colab-setup"


def notebooks(dirs=NOTEBOOK_DIRS) -> list[Path]:
    """Every committed notebook under the given folders, sorted."""
    found = []
    for d in dirs:
        found += sorted(p for p in (ROOT / d).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return found


def repository() -> tuple[str, str]:
    """(url, branch) from _config.yml: the one setting a fork changes."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = cfg["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def package_version() -> str:
    """gancourse's version, from pyproject.toml (the one place it is written)."""
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M)
    if not match:
        raise ValueError("pyproject.toml: no version in the [project] table")
    return match.group(1)


def release_tag() -> str:
    """The git tag of the release that the notebooks are written for: ``v`` + the package version.

    The Colab set-up cell installs the library at this tag, so a notebook always gets the
    library it was written for, never whatever ``main`` holds when a student opens it."""
    return f"v{package_version()}"


def setup_cell_source() -> str:
    url, _ = repository()
    tag = release_tag()
    return f'''#@title Running this notebook
# In Google Colab this installs gancourse {package_version()}, the release this notebook was
# written for, and prints the device (the GPU when the runtime has one: Runtime >
# Change runtime type > GPU). Colab's own packages stay as they are, ipywidgets
# included. Anywhere else it does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess
    from importlib.metadata import version

    release = "gancourse @ git+{url}@{tag}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", release,
                    "ipywidgets==" + version("ipywidgets")], check=True)
    import torch

    if torch.cuda.is_available():
        print("device: cuda (" + torch.cuda.get_device_name(0) + ")")
    else:
        print("device: cpu (for speed choose Runtime > Change runtime type > GPU)")'''


def setup_cell() -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "colab-setup",
        "metadata": {"tags": [SETUP_TAG, "hide-cell"], "cellView": "form",
                     "jupyter": {"source_hidden": True}},
        "outputs": [],
        "source": setup_cell_source(),
    }


COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


def smoke_parameters() -> dict:
    """notebook path (relative to the repo) -> its smoke parameters, from tests/smoke/*.yml."""
    merged = {}
    for f in sorted(SMOKE_DIR.glob("*.yml")):
        for nb, params in (yaml.safe_load(f.read_text()) or {}).items():
            if nb in merged:
                raise ValueError(f"{nb} has smoke parameters in two files ({f.name} and another)")
            merged[nb] = params or {}
    return merged


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat stores it as a string or a list of lines)."""
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def code_hash(nb: dict) -> str:
    """A hash of what every code cell runs (the Colab set-up cell aside, which does nothing
    outside Colab): what the committed outputs were produced from.

    It hashes each cell's syntax tree (:func:`code_tree`), so a change of layout alone
    (a line wrapped, a comment reworded) leaves the outputs current, and any change to what
    Python executes makes them stale.
    """
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and SETUP_TAG not in cell.get("metadata", {}).get("tags", []):
            h.update(code_tree(cell_source(cell)).encode() + b"\0")
    return h.hexdigest()[:16]


def code_tree(src: str) -> str:
    """A cell's code as its Python syntax tree, written out without comments, line breaks or
    positions. IPython syntax (``%magic``, ``!cmd``) is first turned into the Python that
    IPython runs; a cell that still does not parse is kept as its text."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        src = TransformerManager().transform_cell(src)
    except ImportError:  # no IPython: plain Python cells hash the same either way
        pass
    try:
        return _tree(ast.parse(src))
    except SyntaxError:
        return src


def _tree(node) -> str:
    # Like ast.dump, but fields that are None or empty are left out, so the text does not
    # change between Python versions that add such fields (3.12's type_params, say).
    if isinstance(node, ast.AST):
        fields = ((name, _tree(getattr(node, name, None))) for name in node._fields)
        return f"{type(node).__name__}({', '.join(f'{k}={v}' for k, v in fields if v not in ('None', '[]'))})"
    if isinstance(node, list):
        return f"[{', '.join(_tree(item) for item in node)}]"
    return repr(node)


EXERCISE_DIR = ROOT / "exercises"
RAISES_TAG = "raises-exception"


def is_exercise(path: Path) -> bool:
    """A generated exercise notebook (exercises/): its questions are unanswered."""
    return Path(path).resolve().parent == EXERCISE_DIR


def unanswered_exercise_problems(nb: dict) -> list[str]:
    """What is wrong with an executed, unanswered exercise notebook (empty when all is well).

    An unanswered exercise must run from top to bottom; the only errors allowed are the
    ``NotImplementedError`` of the answers left to the student, in cells tagged
    ``raises-exception``; and every graded self-check (nbgrader ``grade: true``) must fail,
    since nothing has been answered yet (a self-check that passes on a blank answer checks
    nothing)."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        name = f"cell {i} ({cell.get('id', '?')})"
        if cell.get("execution_count") is None:
            problems.append(f"{name} was not executed (the run stopped before it)")
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for err in errors:
            if RAISES_TAG not in tags:
                problems.append(f"{name} raised {err.get('ename')} but is not tagged {RAISES_TAG}")
            elif err.get("ename") != "NotImplementedError":
                problems.append(f"{name} raised {err.get('ename')}: {err.get('evalue', '')[:200]} "
                                "(only the unanswered questions' NotImplementedError is expected)")
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and not errors:
            problems.append(f"{name}: the self-check passed although the question is unanswered")
    return problems


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def save(nb: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
