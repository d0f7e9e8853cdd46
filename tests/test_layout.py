"""The library's import graph: its layers run one way (models -> train -> progressive), with no cycle.

Every import statement of every module counts, those inside functions too: an import deferred
into a function to dodge a circular import is still a circle for a reader.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gancourse"


def module_name(path: Path) -> str:
    parts = ("gancourse",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def imports_of(path: Path) -> set:
    """The gancourse modules that the file at ``path`` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "gancourse"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "gancourse":
                continue
            for alias in node.names:  # "from . import models" imports a module, "from .models import x" one too
                found.add(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
    return {m for m in found if is_module(m) and m != name}


def import_graph() -> dict:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def reachable(graph: dict, start: str) -> set:
    seen, todo = set(), [start]
    while todo:
        for m in graph.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_the_graph_is_read_from_the_sources():
    graph = import_graph()
    assert "gancourse.models" in graph["gancourse.train"]
    assert "gancourse.metrics.scores" in graph["gancourse.metrics"]
    assert "gancourse.losses" in graph["gancourse.interactive.plots"]    # from .. import losses


@pytest.mark.parametrize("lower, higher", [("gancourse.models", "gancourse.train"),
                                           ("gancourse.models", "gancourse.progressive"),
                                           ("gancourse.train", "gancourse.progressive")])
def test_lower_layers_do_not_import_higher_ones(lower, higher):
    assert higher not in reachable(import_graph(), lower)


def test_progressive_builds_on_train_and_registers_its_models():
    from gancourse import models, progressive, train

    assert "gancourse.train" in import_graph()["gancourse.progressive"]
    assert progressive.d_step is train.d_step
    assert models.MODELS["progressive"] == (progressive.ProgressiveGenerator, progressive.ProgressiveDiscriminator)


def test_no_module_imports_itself_back():
    graph = import_graph()
    # A package's __init__ may import its own submodules; a submodule reaching back into it is not a cycle
    # of layers (Python runs the package first), so the package nodes are left out.
    packages = {m for m in graph if (PACKAGE / Path(*m.split(".")[1:]) / "__init__.py").is_file()}
    modules = {m: deps - packages for m, deps in graph.items() if m not in packages}
    cycles = [m for m in modules if m in reachable(modules, m)]
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_register_rejects_a_taken_name_and_non_modules():
    from torch import nn

    from gancourse import models

    models.register("dcgan", models.DCGANGenerator, models.DCGANDiscriminator)     # the same pair: no-op
    with pytest.raises(ValueError, match="'dcgan' is taken"):
        models.register("dcgan", models.MLPGenerator, models.MLPDiscriminator)
    with pytest.raises(TypeError, match="two nn.Module classes"):
        models.register("not-a-model", nn.Linear(1, 1), models.MLPDiscriminator)
    assert models.MODELS["dcgan"] == (models.DCGANGenerator, models.DCGANDiscriminator)
    assert "not-a-model" not in models.MODELS


def test_reloading_progressive_registers_its_new_classes():
    """%autoreload and importlib.reload make the classes anew; registering them again is no error.
    In a fresh interpreter, so that no other test meets the reloaded classes."""
    import subprocess
    import sys

    code = ("import importlib\nfrom gancourse import models, progressive\n"
            "new = importlib.reload(progressive)\n"
            "assert models.MODELS['progressive'] == (new.ProgressiveGenerator, new.ProgressiveDiscriminator)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
