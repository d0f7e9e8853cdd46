"""The repository's promises: the README's two commands, and what .ci/run runs."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_two_commands():
    cmds = quick_start_commands()
    assert len(cmds) == 2
    assert "jupyter-book build ." in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in [line.strip() for line in ci]
    assert "GANCOURSE_MNIST" in "\n".join(ci)


def test_readme_and_pyproject_agree_on_the_python_version():
    readme = re.search(r"\(Python (\d+\.\d+) or newer\)", (ROOT / "README.md").read_text()).group(1)
    pyproject = re.search(r'^requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert readme == pyproject


def test_every_third_party_import_of_the_library_is_a_declared_dependency():
    """What ``import gancourse...`` can need at run time is installed with it (pyyaml: the quizzes)."""
    import ast
    import sys

    text = (ROOT / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    declared = {re.split(r"[<>=!~ ]", d.strip().strip('"'))[0].lower() for d in re.findall(r'"[^"]+"', deps)}
    import_names = {"yaml": "pyyaml", "PIL": "pillow"}
    # The optional parts: grading (the "grading" extra), the book's Sphinx extension and its
    # "Going further" fold ("book": Sphinx brings docutils), and the widgets' display, which runs
    # only in a Jupyter kernel (that brings IPython, and ipywidgets where widgets are wanted).
    optional_modules = {"grading", "sphinxext.py", "going_further.py"}
    optional = {"ipywidgets", "IPython"}
    missing = set()
    for path in (ROOT / "gancourse").rglob("*.py"):
        if optional_modules & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "gancourse" or top in optional:
                    continue
                if import_names.get(top, top).lower() not in declared:
                    missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert not missing, f"imported but not in pyproject's dependencies: {sorted(missing)}"


def test_package_and_pyproject_agree_on_the_version():
    """``gancourse.__version__`` and pyproject.toml's version (the Colab cells install its tag)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import nbtools

    init = (ROOT / "gancourse" / "__init__.py").read_text()
    assert re.search(r'^__version__ = "([^"]+)"', init, re.M).group(1) == nbtools.package_version()
