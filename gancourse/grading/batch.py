"""Grade a folder of handed-in notebooks into one CSV gradebook and HTML feedback.

    python -m gancourse.grading grade SUBMISSIONS_DIR --out gradebook.csv

Layouts accepted under SUBMISSIONS_DIR (hidden files and ``.ipynb_checkpoints`` are
skipped):

- ``<student>.ipynb``: a file at the top level; its name is the student id;
- ``<student>/<anything>.ipynb``: every notebook in a student's folder (any depth).

The exercise is recognised from the notebook's content (see
:func:`gancourse.grading.assignments.identify`), so ``ex3 (1).ipynb`` grades like the
original. Each submission is graded by nbgrader's autograde in its own process
(:mod:`gancourse.grading.worker`), inside the namespaces of
:mod:`gancourse.grading.sandbox`, with a wall-clock limit, on all cores at once. The
gradebook database is created afresh for every run (a private copy per submission).

Output: the CSV (one row per notebook: student, assignment, file, status, one column per
question, total, max_total, notes) and ``<feedback>/<student>/<assignment>.html``.
A submission that cannot be graded gets ``not graded: <reason>`` and empty score cells,
never zeros.

This module does not execute student code itself.
"""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import assignments as A
from . import sandbox as S

__all__ = ["GradeOptions", "Submission", "find_submissions", "grade_folder"]

MAX_FILE_BYTES = 20 * 2**20


@dataclass
class GradeOptions:
    source: Path
    out: Path
    feedback: Path
    jobs: int = os.cpu_count() or 1
    cell_timeout: int = 60        # seconds per cell
    time_limit: int = 600         # seconds per submission, everything included
    memory_mb: int = 6144         # address space per process (torch alone maps ~3.2 GB)
    max_output_bytes: int = 200_000
    sandbox: bool = True
    workdir: Path | None = None   # keep the per-submission folders here (debugging)


@dataclass
class Submission:
    path: Path
    rel: str
    student: str
    assignment: str | None = None
    how: str = ""
    status: str = "not graded: not processed"
    scores: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    feedback: str = ""
    seconds: float = 0.0          # wall-clock time of its grading process
    cpu: float = 0.0              # CPU time of that process and its children
    suffix: str = ""  # "-2", "-3" for a student's further notebooks of the same exercise


def _student_id(name: str) -> str:
    sid = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"
    return sid[:100]


def find_submissions(folder: Path) -> list[Submission]:
    """Every notebook in the accepted layouts, in a stable order."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        owner = rel.parts[0] if len(rel.parts) > 1 else path.stem
        found.append(Submission(path, str(rel), _student_id(owner)))
    return found


def _read(sub: Submission, catalogue: dict) -> dict | None:
    """Parse and identify a submission; set its status when it cannot be graded."""
    import nbformat

    try:
        if sub.path.stat().st_size > MAX_FILE_BYTES:
            sub.status = f"not graded: the file is larger than {MAX_FILE_BYTES // 2**20} MB"
            return None
        data = json.loads(sub.path.read_text(encoding="utf-8"))
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        sub.status = "not graded: not a notebook (the file is not UTF-8 text)"
        return None
    except json.JSONDecodeError as err:
        sub.status = f"not graded: not a notebook (invalid JSON: {err.msg} at line {err.lineno})"
        return None
    except Exception as err:  # nbformat's validation and reader errors have many types
        sub.status = f"not graded: not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0][:150]})"
        return None
    sub.assignment, sub.how = A.identify(nb, sub.path.name, catalogue)
    if sub.assignment is None:
        sub.status = ("not graded: cannot tell which exercise this is (no gancourse grade ids, cell ids "
                      "or metadata, and the file name is not an exercise name)")
        return None
    return nb


def _wait(proc: subprocess.Popen, deadline: float, sub: Submission) -> bool:
    """Wait for the grading process until ``deadline``; record its CPU time (it and every
    process it waited for: nbgrader and the kernel). False when it had to be killed."""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            sub.cpu = usage.ru_utime + usage.ru_stime
            return True
        if time.perf_counter() > deadline:
            _kill_tree(proc)
            return False
        time.sleep(0.05)


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the grading process and everything it started (a kernel runs in its own session)."""
    try:
        import psutil

        family = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        family = []
    for p in family:
        try:
            p.kill()
        except Exception:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _run_job(sub: Submission, nb: dict, release: dict, template: Path, opts: GradeOptions,
             workdir: Path, index: int, hidden: list[str]) -> None:
    aid, sid = sub.assignment, sub.student
    job_dir = workdir / f"job{index:04d}"
    course = job_dir / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(template / "source" / aid, course / "source" / aid)
    shutil.copy(template / "gradebook.db", course / "gradebook.db")
    source = json.loads((template / "source" / aid / f"{aid}.ipynb").read_text())
    repaired, notes = A.repair(nb, release, source)
    sub.notes += notes + A.review_flags(nb, release)
    target = course / "submitted" / sid / aid
    target.mkdir(parents=True)
    A.save_notebook(repaired, target / f"{aid}.ipynb")
    kcfg = S.kernel_config(job_dir / "kroot", opts.memory_mb, opts.sandbox,
                           hidden=hidden if opts.sandbox else None, nproc=128 * (opts.jobs + 1))
    (job_dir / "kernel-config.json").write_text(json.dumps(kcfg))
    job = {"course": str(course), "assignment": aid, "student": sid,
           "cell_timeout": opts.cell_timeout, "memory_mb": opts.memory_mb,
           "max_output_bytes": opts.max_output_bytes, "isolated": opts.sandbox,
           "kernel_config": str(job_dir / "kernel-config.json"),
           "jupyter_path": str(job_dir / "jupyter"), "runtime_dir": str(job_dir / "runtime"),
           "result": str(job_dir / "result.json"),
           "trusted_markdown": [A.source_text(c).strip() for c in release["cells"] if c["cell_type"] == "markdown"]}
    (job_dir / "job.json").write_text(json.dumps(job))
    cmd = S.python_module_command("gancourse.grading.worker", str(job_dir / "job.json"))
    if opts.sandbox:
        cmd = S.isolate_command(cmd)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    t0 = time.perf_counter()
    with open(job_dir / "worker.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(job_dir), env=env, start_new_session=True)
        finished = _wait(proc, t0 + opts.time_limit, sub)
    sub.seconds = time.perf_counter() - t0
    if not finished:
        sub.status = f"not graded: the time limit of {opts.time_limit} s for one submission was exceeded"
        return
    result_file = job_dir / "result.json"
    if not result_file.is_file():
        tail = (job_dir / "worker.log").read_bytes()[-400:].decode("utf-8", "replace").strip()
        sub.status = f"not graded: the grading process ended without a result (exit {proc.returncode}): {tail}"
        return
    result = json.loads(result_file.read_text())
    if result["status"] != "graded":
        sub.status = f"not graded: {result['reason']}"
        return
    sub.status = "graded"
    sub.scores = result["scores"]
    unscored = [gid for gid in A.question_ids(source) if gid not in sub.scores]
    if unscored:  # nbgrader found no test cell to score: say so rather than print a zero
        sub.notes.append(f"no score for {', '.join(unscored)}")
    html_file = course / "feedback" / sid / aid / f"{aid}.html"
    if html_file.is_file():
        dest = opts.feedback / sid / f"{aid}{sub.suffix}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(html_file, dest)
        sub.feedback = str(dest)
    elif result.get("feedback_error"):
        sub.notes.append(f"feedback could not be written: {result['feedback_error']}")


def _fallback_feedback(sub: Submission, feedback: Path) -> None:
    """A short HTML page for a notebook that was not graded."""
    name = sub.assignment or Path(sub.rel).stem
    dest = feedback / sub.student / f"{_student_id(name)}{sub.suffix}.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Not graded</title></head><body>"
        f"<h1>{html.escape(sub.rel)}: not graded</h1><p>{html.escape(sub.status[len('not graded: '):])}</p>"
        "<p>Nothing was scored: this is not a zero. Fix the problem and hand the notebook in again, "
        "or ask your instructor.</p></body></html>\n")
    sub.feedback = str(dest)


def grade_folder(folder: Path, opts: GradeOptions, log=print) -> list[Submission]:
    """Grade every submission in ``folder``; write the CSV and the feedback; return the rows."""
    catalogue = A.load_catalogue(opts.source)
    subs = find_submissions(folder)
    notebooks = {id(s): _read(s, catalogue) for s in subs}
    todo = [s for s in subs if notebooks[id(s)] is not None]
    seen: dict = {}
    for s in todo:
        key = (s.student, s.assignment)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            s.suffix = f"-{seen[key]}"
            s.notes.append("more than one notebook of this student for this exercise")
    t0 = time.perf_counter()
    checker = ThreadPoolExecutor(max_workers=1)
    probe = checker.submit(S.probe) if opts.sandbox and todo else None  # runs while the gradebook is built
    own_tmp = opts.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="gancourse-grading-")) if own_tmp else Path(opts.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        ids = sorted({s.assignment for s in todo})
        template = workdir / "template"
        releases = {}
        if ids:
            A.build_course(opts.source, template, ids)
            releases = {aid: json.loads((template / "release" / aid / f"{aid}.ipynb").read_text())
                        for aid in ids}
        if probe is not None:
            ok, why = probe.result()
            if not ok:
                raise S.SandboxError(why)
        hidden = [str(p) for p in (workdir, opts.source, folder, opts.feedback)]
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            futures = [pool.submit(_guarded, s, notebooks[id(s)], releases[s.assignment], template, opts,
                                   workdir, i, hidden) for i, s in enumerate(todo)]
            for f in futures:
                f.result()
    finally:
        checker.shutdown(wait=True)
        if own_tmp:
            shutil.rmtree(workdir, ignore_errors=True)
    for s in subs:
        if s.status != "graded":
            _fallback_feedback(s, opts.feedback)
    write_csv(subs, catalogue, opts.out)
    graded = sum(s.status == "graded" for s in subs)
    ran = [s for s in todo if s.cpu]
    cpu = f"; CPU per submission {sum(s.cpu for s in ran) / len(ran):.1f} s" if ran else ""
    log(f"graded {graded} of {len(subs)} notebooks in {time.perf_counter() - t0:.1f} s "
        f"({opts.jobs} at a time{cpu}); gradebook: {opts.out}; feedback: {opts.feedback}")
    return subs


def _guarded(sub, *args) -> None:
    try:
        _run_job(sub, *args)
    except Exception as err:  # one bad submission never stops the batch
        sub.status = f"not graded: grader error: {type(err).__name__}: {err}"[:300]


def write_csv(subs: list[Submission], catalogue: dict, out: Path) -> None:
    """One row per notebook; a column per question of every exercise that appears."""
    present = sorted({s.assignment for s in subs if s.assignment})
    columns = [gid for aid in present for gid, _ in catalogue[aid].questions]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "file", "status", *columns, "total", "max_total", "notes",
                    "feedback"])
        for s in subs:
            graded = s.status == "graded"
            questions = dict(catalogue[s.assignment].questions) if s.assignment else {}
            cells = [_num(s.scores[gid]) if graded and gid in questions and gid in s.scores else ""
                     for gid in columns]
            total = _num(sum(s.scores.get(g, 0.0) for g in questions)) if graded else ""
            max_total = _num(catalogue[s.assignment].max_score) if graded else ""
            w.writerow([s.student, s.assignment or "", s.rel, s.status, *cells, total, max_total,
                        "; ".join(s.notes), os.path.relpath(s.feedback, out.parent) if s.feedback else ""])


def _num(x: float) -> str:
    return f"{float(x):g}"
