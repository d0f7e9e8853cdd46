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
           "release_notebook", "identify", "repair", "review_flags", "EXERCISE_KEY", "save_notebook"]

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
def repair(nb: dict, release: dict, source: dict | None = None) -> tuple[dict, list[str]]:
    """Make the nbgrader metadata of a submission match its released exercise.

    - a known grade id keeps its cell, with the released nbgrader metadata (type,
      points, lock) so that a student cannot re-weight or unlock a test;
    - a cell that lost its metadata but kept its cell id gets it back;
    - duplicate or unknown grade ids lose their nbgrader metadata;
    - a test cell that is missing is inserted after the nearest earlier exercise cell
      (at the end when none is left).
    ``source`` (the nbgrader source notebook) only serves to recognise unedited test
    cells that carry their hidden tests. Returns the repaired notebook and notes for
    the instructor.
    """
    nb = copy.deepcopy(nb)
    notes = []
    originals = {}
    for ref_nb in (release, source or {"cells": []}):
        for c in ref_nb["cells"]:
            if "grade_id" in _nbgrader(c):
                originals.setdefault(_nbgrader(c)["grade_id"], set()).add(_source(c).strip())
    released = [c for c in release["cells"] if "grade_id" in _nbgrader(c)]
    by_gid = {_nbgrader(c)["grade_id"]: c for c in released}
    by_cid = {c.get("id"): c for c in released if c.get("id")}
    seen = set()
    for cell in nb["cells"]:
        gid = _nbgrader(cell).get("grade_id")
        if gid is None and cell.get("id") in by_cid:
            gid = _nbgrader(by_cid[cell["id"]])["grade_id"]
            if gid not in seen and _nbgrader(by_cid[cell["id"]]).get("grade"):
                notes.append(f"{gid}: the test cell had lost its nbgrader metadata (restored)")
        ref = by_gid.get(gid)
        if gid is not None and ref is not None and gid not in seen:
            seen.add(gid)
            cell.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(_nbgrader(ref))
            if cell["cell_type"] != ref["cell_type"]:
                _set_type(cell, ref["cell_type"])
            if _nbgrader(ref).get("locked") and _source(cell).strip() not in originals[gid]:
                notes.append(f"{gid}: the test cell was edited (the original was restored)")
        elif "nbgrader" in cell.get("metadata", {}):
            del cell["metadata"]["nbgrader"]
            if gid is not None:
                notes.append(f"{gid}: a duplicate or unknown nbgrader cell lost its grading metadata")
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


# ----------------------------------------------------------------- review flags
_SUSPICIOUS = [
    (re.compile(r"\bget_ipython\b|^\s*%", re.M), "uses get_ipython or a magic (IPython hooks can rewrite test cells)"),
    (re.compile(r"\bsys\.(settrace|setprofile|modules)\b|\bthreading\.settrace\b"), "uses sys.settrace/setprofile/modules"),
    (re.compile(r"\b(__builtins__|builtins)\b"), "touches builtins"),
    (re.compile(r"\bimportlib\b|\breload\s*\("), "uses importlib"),
    (re.compile(r"\bgancourse\.grading\b|\bchecks\.\w+\s*=[^=]"), "touches the test helpers"),
    (re.compile(r"^\s*(torch|F|nn|np|numpy|math|gancourse|L|losses|models|checks)(\.\w+)+\s*=[^=]", re.M),
     "assigns to a library attribute (monkeypatching)"),
    (re.compile(r"\bsetattr\s*\("), "calls setattr"),
    (re.compile(r"\bctypes\b|\bos\._exit\b|\bsignal\.signal\b"), "uses ctypes, os._exit or signal handlers"),
]


def review_flags(nb: dict, release: dict) -> list[str]:
    """Constructs in a student's own code that could tamper with in-process tests.

    Cells identical to a cell of the released exercise are not the student's and are
    skipped. Grading does not depend on these flags; they tell the instructor which
    notebooks to read.
    """
    given = {_source(c).strip() for c in release.get("cells", [])}
    found = {}
    for cell in nb.get("cells", []):
        meta = _nbgrader(cell)
        src = _source(cell)
        if cell.get("cell_type") != "code" or meta.get("locked") or src.strip() in given:
            continue
        for pattern, label in _SUSPICIOUS:
            if pattern.search(src):
                found.setdefault(label, None)
    return [f"review: {label}" for label in found]
