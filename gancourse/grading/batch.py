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

Symbolic links are never followed (a linked notebook gets a "not graded" row; a linked
folder is skipped with a warning), so nothing outside SUBMISSIONS_DIR is read.

Each job gets its own process, memory and CPU-time budget
(:mod:`gancourse.grading.isolation`); without per-job isolation, grading several
notebooks at once is refused unless ``shared_limits`` is set.

Output: the CSV (one row per notebook: student, assignment, file, status, one column per
question, total, max_total, notes, feedback; text cells that a spreadsheet would read as
a formula are prefixed with ``'``) and one feedback page per notebook, named from its
whole relative path (``bob/old/05_losses.ipynb`` -> ``<feedback>/bob/old/05_losses.html``),
never overwritten by another. A submission that cannot be graded gets
``not graded: <reason>`` and empty score cells, never zeros.

This module does not execute student code itself.
"""
from __future__ import annotations

import csv
import html
import json
import os
import queue
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
from . import isolation as I
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
    isolation: str = "auto"       # per-submission budgets: auto, cgroup, uid or none
    shared_limits: bool = False   # allow jobs > 1 without per-submission isolation
    budget: I.Budget = field(default_factory=I.Budget)


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
    page: str = ""                # the feedback page's path inside the feedback folder


def _student_id(name: str) -> str:
    sid = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"
    return sid[:100]


def find_submissions(folder: Path, log=print) -> list[Submission]:
    """Every notebook in the accepted layouts, in a stable order. Symbolic links are not
    followed: a linked notebook is listed with a "not graded" status, a linked folder is
    skipped (with a warning through ``log``)."""
    folder = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if (here / d).is_symlink() and not d.startswith("."):
                log(f"warning: {here / d} is a symbolic link to a folder: not followed")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(".ipynb"):
                continue
            path = here / name
            rel = path.relative_to(folder)
            owner = rel.parts[0] if len(rel.parts) > 1 else path.stem
            sub = Submission(path, rel.as_posix(), _student_id(owner))
            if path.is_symlink() or not path.is_file():
                sub.status = "not graded: a symbolic link or special file (the grader does not follow links)"
            found.append(sub)
    return sorted(found, key=lambda s: s.rel)


def _page_names(subs: list[Submission]) -> None:
    """A feedback page per submission, named from its whole relative path, all distinct."""
    used: set = set()
    for s in subs:
        parts = [_student_id(p) for p in Path(s.rel).with_suffix("").parts]
        base = "/".join(parts)
        name, k = f"{base}.html", 1
        while name.lower() in used:
            k += 1
            name = f"{base}-{k}.html"
        used.add(name.lower())
        s.page = name


def _read(sub: Submission, catalogue: dict) -> dict | None:
    """Parse and identify a submission; set its status when it cannot be graded."""
    import nbformat

    if sub.status != "not graded: not processed":
        return None
    try:
        fd = os.open(sub.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            sub.status = f"not graded: the file is larger than {MAX_FILE_BYTES // 2**20} MB"
            return None
        data = json.loads(raw.decode("utf-8"))
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        sub.status = "not graded: not a notebook (the file is not UTF-8 text)"
        return None
    except OSError as err:
        sub.status = f"not graded: the file cannot be read ({err.strerror})"
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


def _wait(proc: subprocess.Popen, deadline: float, sub: Submission, job: I.Job, cpu_budget: float) -> str:
    """Wait for the grading process until ``deadline``; record its CPU time (it and every
    process it waited for: nbgrader and the kernel, or the whole cgroup). "" when it
    finished, else why it was killed ("time", "cpu")."""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            sub.cpu = job.cpu_seconds() or usage.ru_utime + usage.ru_stime
            return ""
        used = job.cpu_seconds()
        over = "cpu" if used is not None and used > cpu_budget else "time" if time.perf_counter() > deadline else ""
        if over:
            job.kill()
            _kill_tree(proc)
            sub.cpu = job.cpu_seconds() or 0.0
            return over
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
             workdir: Path, index: int, hidden: list[str], isolation: I.Isolation, slots: queue.Queue) -> None:
    aid, sid = sub.assignment, sub.student
    job_dir = workdir / f"job{index:04d}"
    course = job_dir / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(template / "source" / aid, course / "source" / aid)
    shutil.copy(template / "gradebook.db", course / "gradebook.db")
    source = json.loads((template / "source" / aid / f"{aid}.ipynb").read_text())
    repaired, notes = A.repair(nb, release, source)
    sub.notes += notes + A.review(repaired, release)
    target = course / "submitted" / sid / aid
    target.mkdir(parents=True)
    A.save_notebook(repaired, target / f"{aid}.ipynb")
    slot = slots.get()
    job = None
    try:
        job = isolation.job(slot, opts.budget)
        kcfg = S.kernel_config(job_dir / "kroot", opts.memory_mb, opts.sandbox,
                               hidden=hidden if opts.sandbox else None, **job.kernel_limits(opts.jobs))
        (job_dir / "kernel-config.json").write_text(json.dumps(kcfg))
        spec = {"course": str(course), "assignment": aid, "student": sid,
                "cell_timeout": opts.cell_timeout, "memory_mb": opts.memory_mb,
                "max_output_bytes": opts.max_output_bytes, "isolated": opts.sandbox,
                "kernel_config": str(job_dir / "kernel-config.json"),
                "jupyter_path": str(job_dir / "jupyter"), "runtime_dir": str(job_dir / "runtime"),
                "result": str(job_dir / "result.json"), "tests": A.question_ids(source),
                "trusted_markdown": [A.source_text(c).strip() for c in release["cells"]
                                     if c["cell_type"] == "markdown"]}
        (job_dir / "job.json").write_text(json.dumps(spec))
        cmd = S.python_module_command("gancourse.grading.worker", str(job_dir / "job.json"))
        if opts.sandbox:
            cmd = S.isolate_command(cmd)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        cmd = job.wrap(cmd, env)
        t0 = time.perf_counter()
        with open(job_dir / "worker.log", "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=str(job_dir), env=env, start_new_session=True)
            killed = _wait(proc, t0 + opts.time_limit, sub, job, opts.budget.cpu_seconds)
        sub.seconds = time.perf_counter() - t0
        oom = job.oom_kills()
    finally:
        if job is not None:
            job.remove()
        slots.put(slot)
    if killed == "time":
        sub.status = f"not graded: the time limit of {opts.time_limit} s for one submission was exceeded"
        return
    if killed == "cpu":
        sub.status = (f"not graded: the submission used more than its {opts.budget.cpu_seconds} s of CPU time "
                      "(its processes were killed)")
        return
    result_file = job_dir / "result.json"
    over_memory = (f"the submission went over its memory budget of {opts.budget.memory_mb} MB "
                   f"({oom} process{'es' if oom > 1 else ''} killed)")
    if proc.returncode == 97 and not result_file.is_file():
        sub.status = "not graded: grader error: the grading process could not join its cgroups"
        return
    if not result_file.is_file():
        tail = (job_dir / "worker.log").read_bytes()[-400:].decode("utf-8", "replace").strip()
        sub.status = (f"not graded: {over_memory}" if oom else
                      f"not graded: the grading process ended without a result (exit {proc.returncode}): {tail}")
        return
    result = json.loads(result_file.read_text())
    if result["status"] != "graded":
        sub.status = f"not graded: {over_memory}" if oom and "kernel died" in result["reason"] else \
            f"not graded: {result['reason']}"
        return
    if oom:
        sub.notes.append(over_memory)
    sub.status = "graded"
    sub.scores = result["scores"]
    unscored = [gid for gid in A.question_ids(source) if gid not in sub.scores]
    if unscored:  # nbgrader found no test cell to score: say so rather than print a zero
        sub.notes.append(f"no score for {', '.join(unscored)}")
    html_file = course / "feedback" / sid / aid / f"{aid}.html"
    if html_file.is_file():
        dest = opts.feedback / sub.page
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(html_file, dest)
        sub.feedback = str(dest)
    elif result.get("feedback_error"):
        sub.notes.append(f"feedback could not be written: {result['feedback_error']}")


def _fallback_feedback(sub: Submission, feedback: Path) -> None:
    """A short HTML page for a notebook that was not graded."""
    dest = feedback / sub.page
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Not graded</title></head><body>"
        f"<h1>{html.escape(sub.rel)}: not graded</h1><p>{html.escape(sub.status[len('not graded: '):])}</p>"
        "<p>Nothing was scored: this is not a zero. Fix the problem and hand the notebook in again, "
        "or ask your instructor.</p></body></html>\n")
    sub.feedback = str(dest)


def grade_folder(folder: Path, opts: GradeOptions, log=print) -> list[Submission]:
    """Grade every submission in ``folder``; write the CSV and the feedback; return the rows.

    Raises :class:`~gancourse.grading.sandbox.SandboxError` when the sandbox does not work,
    and ``RuntimeError`` when ``opts.jobs > 1`` without per-submission isolation and without
    ``opts.shared_limits``.
    """
    isolation = I.choose(opts.isolation)
    if not isolation.per_job and opts.jobs > 1 and not opts.shared_limits:
        raise RuntimeError(f"per-submission isolation is not available ({isolation.why}). With --jobs "
                           f"{opts.jobs} one notebook that holds many processes or much memory could make "
                           "others fail. Grade as root, or with --jobs 1, or accept the risk with --shared-limits.")
    if not isolation.per_job:
        log(f"warning: no per-submission isolation: {isolation.why}")
    catalogue = A.load_catalogue(opts.source)
    subs = find_submissions(folder, log)
    _page_names(subs)
    notebooks = {id(s): _read(s, catalogue) for s in subs}
    todo = [s for s in subs if notebooks[id(s)] is not None]
    seen: dict = {}
    for s in todo:
        key = (s.student, s.assignment)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
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
            releases = {aid: A.release_notebook(json.loads((template / "release" / aid / f"{aid}.ipynb").read_text()),
                                                aid) for aid in ids}
        if probe is not None:
            ok, why = probe.result()
            if not ok:
                raise S.SandboxError(why)
        hidden = [str(p) for p in (workdir, opts.source, folder, opts.feedback)]
        slots: queue.Queue = queue.Queue()
        for slot in range(max(1, opts.jobs)):
            slots.put(slot)
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            futures = [pool.submit(_guarded, s, notebooks[id(s)], releases[s.assignment], template, opts,
                                   workdir, i, hidden, isolation, slots) for i, s in enumerate(todo)]
            for f in futures:
                f.result()
    finally:
        checker.shutdown(wait=True)
        I.release(isolation)
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
        f"({opts.jobs} at a time, {isolation.describe()}{cpu}); gradebook: {opts.out}; feedback: {opts.feedback}")
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
            w.writerow([_text(s.student), _text(s.assignment or ""), _text(s.rel), _text(s.status), *cells, total,
                        max_total, _text("; ".join(s.notes)),
                        _text(os.path.relpath(s.feedback, out.parent) if s.feedback else "")])


def _num(x: float) -> str:
    return f"{float(x):g}"


def _text(value: str) -> str:
    """A CSV text cell a spreadsheet will not run: one that starts like a formula
    (``= + - @``, a tab or a carriage return) gets a leading apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
