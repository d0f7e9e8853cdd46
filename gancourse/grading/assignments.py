"""The exercise catalogue: nbgrader source notebooks, the exercises generated from them,
and how a handed-in notebook is matched to its exercise and repaired before grading.

- ``solutions/NN_name.ipynb`` is the nbgrader *source*: solution regions, hidden tests,
  nbgrader cell metadata. The assignment id is the file stem (``05_losses``); every
  grade id starts with a per-notebook prefix, so grade ids are unique course-wide.
- :func:`generate` runs nbgrader's ``generate_assignment`` on them and writes
  ``exercises/``: no solution code, no hidden tests, outputs cleared, answer and test
  cells tagged ``raises-exception`` (so CI runs unanswered exercises end to end), and
  the notebook metadata key ``gancourse_exercise`` naming the assignment.
- :func:`identify` tells which exercise a submission is, from its content, never
  its file name alone (students rename files): nbgrader grade ids first, then cell ids,
  then the ``gancourse_exercise`` metadata, and only then the file name.
- :func:`repair` puts back test cells a student deleted or whose metadata was lost, and
  resets the nbgrader metadata of every known cell (nbgrader itself then restores the
  source, hidden tests included, of every locked cell from its database).

It does not execute notebooks; :mod:`gancourse.grading.worker` does.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Assignment", "load_catalogue", "question_ids", "default_source_dir", "build_course", "generate",
           "release_notebook", "identify", "repair", "review", "EXERCISE_KEY", "save_notebook"]

EXERCISE_KEY = "gancourse_exercise"
ANSWER_TAGS = ("uses-answers",)  # source cells that need the answers to run: tagged raises-exception
RAISES = "raises-exception"


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def source_text(cell) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


_source = source_text


@dataclass
class Assignment:
    """One exercise notebook: its id, source file, and graded questions in notebook order."""

    id: str
    source: Path
    questions: list[tuple[str, float]] = field(default_factory=list)  # (test cell grade id, points)
    grade_ids: set = field(default_factory=set)                       # every nbgrader cell
    cell_ids: set = field(default_factory=set)                        # nbformat cell ids

    @property
    def max_score(self) -> float:
        return sum(p for _, p in self.questions)


def question_ids(nb: dict) -> list[str]:
    """Grade ids of the test cells (autograded questions), in notebook order."""
    return [_nbgrader(c)["grade_id"] for c in nb["cells"]
            if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution") and "grade_id" in _nbgrader(c)]


def default_source_dir() -> Path | None:
    """``solutions/`` next to the ``gancourse`` package, in a checkout of the repository."""
    import gancourse

    path = Path(gancourse.__file__).resolve().parent.parent / "solutions"
    return path if path.is_dir() else None


def load_catalogue(source_dir: Path) -> dict[str, Assignment]:
    """Every source notebook in ``source_dir`` (id = file stem)."""
    catalogue = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb = json.loads(path.read_text())
        a = Assignment(path.stem, path)
        points = {}
        for cell in nb["cells"]:
            meta = _nbgrader(cell)
            if cell.get("id"):
                a.cell_ids.add(cell["id"])
            if "grade_id" in meta:
                a.grade_ids.add(meta["grade_id"])
                points[meta["grade_id"]] = float(meta.get("points", 0))
        a.questions = [(gid, points[gid]) for gid in question_ids(nb)]
        catalogue[a.id] = a
    if not catalogue:
        raise FileNotFoundError(f"no exercise source notebooks (*.ipynb) in {source_dir}")
    return catalogue


def _quiet_nbgrader() -> None:
    for name in ("traitlets", "nbgrader", "GenerateAssignment", "Autograde", "GenerateFeedback"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_course(source_dir: Path, root: Path, ids: list[str]) -> Path:
    """An nbgrader course folder at ``root`` with a fresh gradebook and the ``release/``
    version of each assignment in ``ids``, made by nbgrader's generate_assignment."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    _quiet_nbgrader()
    root = Path(root)
    for aid in ids:
        dest = root / "source" / aid
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(source_dir) / f"{aid}.ipynb", dest / f"{aid}.ipynb")
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "gancourse"
    c.GenerateAssignment.force = True
    with _alembic_on_path():
        for aid in ids:
            coursedir = CourseDirectory(config=c)
            coursedir.assignment_id = aid
            GenerateAssignment(coursedir=coursedir, config=c).start()
    return root


@contextlib.contextmanager
def _alembic_on_path():
    """nbgrader stamps a new gradebook with the schema version it gets by running the
    ``alembic`` command (found on PATH, a second of CPU). Read the same version from
    nbgrader's migration scripts in-process instead; fall back to putting this
    interpreter's scripts folder (where pip installed ``alembic``) first on PATH."""
    import nbgrader.api

    original = nbgrader.api.get_alembic_version
    old_path = os.environ.get("PATH", "")
    try:
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(Path(nbgrader.api.__file__).parent / "alembic"))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        nbgrader.api.get_alembic_version = lambda: head
    except Exception:  # an nbgrader with another layout: let it run the command
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old_path])
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = original
        os.environ["PATH"] = old_path


def release_notebook(nb: dict, aid: str) -> dict:
    """nbgrader's release version of a notebook, made ready for students and CI."""
    nb = copy.deepcopy(nb)
    # Whether or not the source was executed (scripts/execute_notebooks.py stamps it), the
    # exercise is the same: no execution records, and the empty keys papermill expects.
    nb["metadata"].pop("gancourse", None)
    nb["metadata"]["papermill"] = {}
    nb["metadata"]["language_info"] = {"name": nb["metadata"].get("language_info", {}).get("name", "python")}
    nb["metadata"][EXERCISE_KEY] = aid
    for cell in nb["cells"]:
        for key in ("papermill", "execution"):
            cell.get("metadata", {}).pop(key, None)
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if cell["cell_type"] != "code":
            continue
        meta = _nbgrader(cell)
        needs = meta.get("solution") or meta.get("grade") or any(t in tags for t in ANSWER_TAGS)
        if needs and RAISES not in tags:
            cell["metadata"]["tags"] = [*tags, RAISES]
        cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = _source(cell)
    for cell in nb["cells"]:
        cell["source"] = _source(cell)
    return nb


def dumps(nb: dict) -> str:
    """nbformat's own layout (sorted keys), so that the text does not depend on key order."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def save_notebook(nb: dict, path: Path) -> None:
    Path(path).write_text(dumps(nb))


def generate(source_dir: Path, out_dir: Path, check: bool = False) -> list[str]:
    """Write ``out_dir/<id>.ipynb`` for every source notebook; return the names that
    changed (with ``check=True`` nothing is written: the names that are out of date)."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    catalogue = load_catalogue(source_dir)
    stale = []
    with tempfile.TemporaryDirectory(prefix="gancourse-generate-") as tmp:
        root = build_course(source_dir, Path(tmp), list(catalogue))
        expected = {}
        for aid in catalogue:
            released = json.loads((root / "release" / aid / f"{aid}.ipynb").read_text())
            expected[f"{aid}.ipynb"] = dumps(release_notebook(released, aid))
    existing = {p.name for p in out_dir.glob("*.ipynb")} if out_dir.is_dir() else set()
    for name, text in sorted(expected.items()):
        path = out_dir / name
        if not path.is_file() or path.read_text() != text:
            stale.append(name)
            if not check:
                out_dir.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for name in sorted(existing - set(expected)):
        stale.append(f"{name} (no source notebook)")
    return stale


# ---------------------------------------------------------------- identification
_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[\s_-]*copy\d*|[\s_-]*kopie\d*)+$", re.IGNORECASE)


def identify(nb: dict, filename: str, catalogue: dict[str, Assignment]) -> tuple[str | None, str]:
    """(assignment id or None, how it was recognised)."""
    cells = nb.get("cells", [])
    grade_ids = {_nbgrader(c).get("grade_id") for c in cells} - {None}
    cell_ids = {c.get("id") for c in cells} - {None}

    def best(found: set, attr: str):
        scores = {aid: len(found & getattr(a, attr)) for aid, a in catalogue.items()}
        top = max(scores.values(), default=0)
        winners = [aid for aid, s in scores.items() if s == top]
        return (winners[0] if top > 0 and len(winners) == 1 else None), top

    aid, n = best(grade_ids, "grade_ids")
    if aid:
        return aid, f"{n} nbgrader grade id(s)"
    aid, n = best(cell_ids, "cell_ids")
    if aid:
        return aid, f"{n} cell id(s)"
    meta = nb.get("metadata", {}).get(EXERCISE_KEY)
    if isinstance(meta, str) and meta in catalogue:
        return meta, f"notebook metadata {EXERCISE_KEY}"
    stem = _COPY_SUFFIX.sub("", Path(filename).stem)
    if stem in catalogue:
        return stem, "file name"
    return None, ""


# ------------------------------------------------------------------------ repair
# Tags that change nothing in grading (nbgrader lets every cell raise); others steer it.
_NEUTRAL_TAGS = {RAISES}


def _steering(meta: dict) -> tuple:
    """The parts of a cell's metadata that decide how it is graded."""
    tags = meta.get("tags") or []
    tags = tags if isinstance(tags, list) else [str(tags)]
    grading = meta.get("nbgrader") or {}
    grading = {k: grading.get(k) for k in ("grade", "solution", "locked", "points", "task", "grade_id")} \
        if isinstance(grading, dict) else grading
    return (sorted({str(t) for t in tags} - _NEUTRAL_TAGS), json.dumps(grading, sort_keys=True, default=str))


def repair(nb: dict, release: dict, source: dict | None = None) -> tuple[dict, list[str]]:
    """Make a submission's metadata the released exercise's: student metadata never
    steers grading.

    - the notebook's metadata (kernel, language) is the exercise's;
    - a cell of the exercise, recognised by its grade id or else its cell id, gets the
      exercise's metadata (nbgrader type, points, lock flag and tags): a student cannot
      re-weight, unlock, untag or skip a test. A change is noted;
    - the student's own cells lose their tags and nbgrader metadata (noted when a tag
      or nbgrader metadata was there), so no tag of theirs skips or grades a cell;
    - duplicate or unknown grade ids lose their nbgrader metadata;
    - a test cell that is missing is inserted after the nearest earlier exercise cell
      (at the end when none is left).
    ``source`` (the nbgrader source notebook) only serves to recognise unedited test
    cells that carry their hidden tests. Returns the repaired notebook and notes for
    the instructor.
    """
    nb = copy.deepcopy(nb)
    notes = []
    meta_before = nb.get("metadata") or {}
    nb["metadata"] = copy.deepcopy(release.get("metadata", {}))
    for key in ("kernelspec", "language_info"):
        if (meta_before.get(key) or {}).get("name") not in (None, (nb["metadata"].get(key) or {}).get("name")):
            notes.append(f"the notebook's {key} was changed (the exercise's was used)")
    originals = {}
    for ref_nb in (release, source or {"cells": []}):
        for c in ref_nb["cells"]:
            if "grade_id" in _nbgrader(c):
                originals.setdefault(_nbgrader(c)["grade_id"], set()).add(_source(c).strip())
    released = [c for c in release["cells"] if "grade_id" in _nbgrader(c)]
    by_gid = {_nbgrader(c)["grade_id"]: c for c in released}
    by_cid = {c.get("id"): c for c in released if c.get("id")}
    any_cid = {c.get("id"): c for c in release["cells"] if c.get("id") and "grade_id" not in _nbgrader(c)}
    seen, seen_cid = set(), set()
    for cell in nb["cells"]:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        gid = _nbgrader(cell).get("grade_id")
        if gid is None and cell.get("id") in by_cid:
            gid = _nbgrader(by_cid[cell["id"]])["grade_id"]
            if gid not in seen and _nbgrader(by_cid[cell["id"]]).get("grade"):
                notes.append(f"{gid}: the test cell had lost its nbgrader metadata (restored)")
        ref = by_gid.get(gid)
        if gid is not None and ref is not None and gid not in seen:
            seen.add(gid)
            if _steering(cell["metadata"]) != _steering(ref["metadata"]) and _nbgrader(cell):
                notes.append(f"{gid}: its grading metadata or tags were changed (the exercise's were used)")
            cell["metadata"] = copy.deepcopy(ref["metadata"])
            if cell["cell_type"] != ref["cell_type"]:
                _set_type(cell, ref["cell_type"])
            if _nbgrader(ref).get("locked") and _source(cell).strip() not in originals[gid]:
                notes.append(f"{gid}: the test cell was edited (the original was restored)")
            continue
        if "nbgrader" in cell["metadata"]:
            del cell["metadata"]["nbgrader"]
            if gid is not None:
                notes.append(f"{gid}: a duplicate or unknown nbgrader cell lost its grading metadata")
        cid = cell.get("id")
        if cid in any_cid and cid not in seen_cid:
            seen_cid.add(cid)
            ref_meta = any_cid[cid]["metadata"]
            if _steering(cell["metadata"]) != _steering(ref_meta):
                notes.append(f"cell {cid}: its tags were changed (the exercise's were used)")
            cell["metadata"] = copy.deepcopy(ref_meta)
        else:
            steering = _steering(cell["metadata"])[0]
            if steering:
                notes.append(f"cell {cid or '(no id)'}: the student's cell carried the tag(s) "
                             f"{', '.join(steering)} (removed)")
            cell["metadata"].pop("tags", None)
    # insert missing test cells
    order = [_nbgrader(c)["grade_id"] for c in released]
    for i, gid in enumerate(order):
        ref = by_gid[gid]
        if gid in seen or not _nbgrader(ref).get("grade"):
            continue
        position = len(nb["cells"])
        for prev in reversed(order[:i]):
            idx = _index_of(nb, prev)
            if idx is not None:
                position = idx + 1
                break
        cell = copy.deepcopy(ref)
        cell["id"] = _unique_id(nb, cell.get("id") or gid)
        nb["cells"].insert(position, cell)
        seen.add(gid)
        notes.append(f"{gid}: the test cell was missing (restored)")
    missing_answers = [g for g in order if g not in seen]
    for gid in missing_answers:
        notes.append(f"{gid}: the answer cell is missing")
    return nb, notes


def _index_of(nb: dict, gid: str) -> int | None:
    for i, c in enumerate(nb["cells"]):
        if _nbgrader(c).get("grade_id") == gid:
            return i
    return None


def _unique_id(nb: dict, base: str) -> str:
    ids = {c.get("id") for c in nb["cells"]}
    cid, k = base, 1
    while cid in ids:
        cid, k = f"{base}-{k}", k + 1
    return cid[:64]


def _set_type(cell: dict, cell_type: str) -> None:
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


# ------------------------------------------------------------------------ review
# Names the test cells use that a notebook must not rebind to something else.
TEST_NAMES = {"torch": "torch", "math": "math", "F": "torch.nn.functional", "nn": "torch.nn", "np": "numpy",
              "checks": "gancourse.grading.checks", "importlib": "importlib"}
_MODULE_LABELS = [
    (("builtins", "__builtins__"), "touches builtins"),
    (("importlib", "imp"), "uses importlib"),
    (("gancourse.grading",), "touches the test helpers (gancourse.grading)"),
    (("inspect", "traceback", "linecache", "dis"), "inspects frames or source (inspect, traceback, linecache)"),
    (("gc", "ctypes", "cffi", "signal", "atexit", "weakref"), "uses gc, ctypes, signal, atexit or weakref"),
    (("threading", "_thread", "subprocess", "multiprocessing", "concurrent", "pty", "asyncio"),
     "starts threads or processes"),
]
_CALL_LABELS = {
    "eval": "runs code from strings (eval, exec, compile, __import__)", "exec": None, "compile": None,
    "__import__": None, "setattr": "calls setattr or delattr", "delattr": None,
    "getattr": "calls getattr with a computed name", "globals": "reads globals(), locals() or vars()",
    "locals": None, "vars": None, "get_ipython": "uses get_ipython or IPython magics",
    "breakpoint": "uses breakpoint",
}
_ATTR_LABELS = {
    "settrace": "sets a trace or profile function", "setprofile": None, "_getframe": "inspects frames or source "
    "(inspect, traceback, linecache)", "f_back": None, "f_globals": None, "f_locals": None, "tb_frame": None,
    "f_code": None, "gi_frame": None, "cr_frame": None,
    "modules": "touches sys.modules, sys.meta_path or sys.path_hooks", "meta_path": None, "path_hooks": None,
    "path_importer_cache": None, "excepthook": "replaces sys.excepthook or displayhook", "displayhook": None,
    "_exit": "calls os._exit, os.kill, os.fork or os.system", "kill": None, "fork": None, "system": None,
    "killpg": None, "execv": None, "execve": None, "spawnv": None, "popen": None,
    "__dict__": "reaches into objects (__dict__, __class__, __code__, __globals__, __subclasses__ ...)",
    "__class__": None, "__code__": None, "__globals__": None, "__subclasses__": None, "__bases__": None,
    "__mro__": None, "__setattr__": None, "__getattribute__": None, "__builtins__": None, "__closure__": None,
    "__defaults__": None, "__kwdefaults__": None, "__loader__": None, "__spec__": None, "__file__": None,
    "__init_subclass__": None, "__func__": None, "__self__": None,
    "input_transformers_cleanup": "changes IPython's input or AST transformers, events or exception handlers",
    "input_transformers_post": None, "ast_transformers": None, "events": None, "set_custom_exc": None,
    "register_magic_function": None, "input_transformer_manager": None, "showtraceback": None,
    "_showtraceback": None, "run_cell": None, "CustomTB": None, "custom_exceptions": None,
    "In": "reads IPython's input history (In, _ih, history_manager)", "_ih": None, "history_manager": None,
    "_torch_function": "changes torch dispatch (modes, __torch_function__)", "__torch_function__": None,
    "__torch_dispatch__": None, "TorchFunctionMode": None, "TorchDispatchMode": None,
}
# Names that mean the same as the attributes above when they appear on their own.
_NAME_LABELS = {"In", "_ih", "Out", "_oh", "TorchFunctionMode", "TorchDispatchMode", "_getframe", "settrace",
                "setprofile"}
for _table in (_CALL_LABELS, _ATTR_LABELS):
    _last = None
    for _k, _v in _table.items():
        _table[_k] = _last = _v or _last


def _code_of(src: str) -> str:
    """A cell's source as Python, IPython's magics and shell escapes turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(src)
    except Exception:
        return src


def _imported_names(tree) -> set:
    import ast

    return {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def _review_tree(tree, label_at, imported: set) -> None:
    """Walk one cell's AST, calling ``label_at(label, node)`` for every construct found.
    ``imported``: names the notebook binds by import (in any cell)."""
    import ast

    tainted = set(imported) | set(TEST_NAMES)  # names of modules, and what is reached from them

    def root(node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                bound = alias.asname or alias.name.split(".")[0]
                tainted.add(bound)
                for prefixes, label in _MODULE_LABELS:
                    if any(full == p or full.startswith(p + ".") or (module or "").startswith(p) for p in prefixes):
                        label_at(label, node)
                if alias.name in _NAME_LABELS:
                    label_at(_ATTR_LABELS[alias.name], node)
                expected = TEST_NAMES.get(bound)
                if expected and (module is None and (alias.asname and alias.name != expected)):
                    label_at("rebinds a name the tests use (torch, math, F, checks ...)", node)
                elif expected and module is not None and f"{module}.{alias.name}" != expected:
                    label_at("rebinds a name the tests use (torch, math, F, checks ...)", node)
    changed = True
    while changed:  # aliases: T = torch.Tensor
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and root(node.value) in tainted:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in tainted:
                        tainted.add(target.id)
                        changed = True
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, (ast.Attribute, ast.Subscript)) and root(t) in tainted:
                    label_at("assigns to an attribute of an imported module or class (monkeypatching)", t)
                elif isinstance(t, ast.Name) and t.id in TEST_NAMES and not isinstance(node, ast.Delete):
                    label_at("rebinds a name the tests use (torch, math, F, checks ...)", t)
                elif isinstance(t, ast.Name) and t.id in TEST_NAMES:
                    label_at("rebinds a name the tests use (torch, math, F, checks ...)", t)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in TEST_NAMES:
            label_at("rebinds a name the tests use (torch, math, F, checks ...)", node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALL_LABELS:
            if node.func.id != "getattr" or (len(node.args) > 1 and not isinstance(node.args[1], ast.Constant)):
                label_at(_CALL_LABELS[node.func.id], node)
        elif isinstance(node, ast.Name) and node.id in ("get_ipython", "__builtins__"):
            label_at(_CALL_LABELS["get_ipython"] if node.id == "get_ipython" else "touches builtins", node)
        elif isinstance(node, ast.Name) and node.id in _NAME_LABELS:
            label_at(_ATTR_LABELS[node.id], node)
        elif isinstance(node, ast.Attribute) and node.attr in _ATTR_LABELS:
            label_at(_ATTR_LABELS[node.attr], node)


def review(nb: dict, release: dict) -> list[str]:
    """What in a student's own code could tamper with in-process tests, found in the
    syntax tree of every cell that is not the exercise's (pass the repaired notebook, whose
    locked cells are the exercise's): one ``review: <what> (cell N,
    line L: <code>)`` note per kind of construct, with where it first occurs.

    The integrity check (:mod:`gancourse.grading.guard`) decides grades; these notes tell
    the instructor which notebooks to read, and what to look for.
    """
    import ast

    given = {_source(c).strip() for c in release.get("cells", [])}
    found: dict = {}
    imported: set = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            try:
                imported |= _imported_names(ast.parse(_code_of(_source(cell))))
            except SyntaxError:
                pass
    for index, cell in enumerate(nb.get("cells", [])):
        src = _source(cell)
        if cell.get("cell_type") != "code" or src.strip() in given or not src.strip() or _nbgrader(cell).get("locked"):
            continue  # the exercise's own cells (a locked cell is restored from the source)
        code = _code_of(src)
        lines = code.splitlines()

        def label_at(label, node, index=index, lines=lines):
            n = getattr(node, "lineno", 1)
            text = lines[n - 1].strip() if 0 < n <= len(lines) else ""
            where = f"cell {index}, line {n}: {text[:60]}"
            entry = found.setdefault(label, [where, 0])
            entry[1] += 1

        try:
            tree = ast.parse(code)
        except SyntaxError as err:
            label_at(f"code that does not parse ({err.msg})", err)
            continue
        _review_tree(tree, label_at, imported)
    return [f"review: {label} ({where}{f'; {n - 1} more' if n > 1 else ''})" for label, (where, n) in found.items()]

