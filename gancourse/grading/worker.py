"""Grade ONE submission with nbgrader's autograde, then write its feedback and result.

Run by :mod:`gancourse.grading.batch` as its own process (inside the namespaces of
:mod:`gancourse.grading.sandbox`), as ``python -m gancourse.grading.worker JOB.json``
(started through :func:`~gancourse.grading.sandbox.python_module_command`).

``JOB.json`` names a private nbgrader course folder (a copy of the fresh gradebook,
the submission under ``submitted/<student>/<assignment>/``) and the limits. The
result goes to ``result.json`` beside it: ``{"status": "graded", "scores": {...}}`` or
``{"status": "not graded", "reason": ...}``.

What this adds to nbgrader's autograde:
- the kernel is the sandboxed one (a kernelspec pointing at the sandbox launcher);
- a per-cell timeout; a kernel that ignores the interrupt ends grading of this
  submission with a reason instead of a zero;
- output is capped per cell while it arrives, so a flood cannot exhaust memory;
- stderr in a test cell (torch's warnings) does not zero the cell: only an error does;
- the integrity check of :mod:`gancourse.grading.guard` before the first cell and
  before and after every test cell; a finding ends grading with "tampering" (no score);
- test cells run outside IPython's history (``In`` never holds a hidden test), and a
  submission whose test cells did not all run is not graded (nbgrader would count a
  test cell that never ran as passed);
- the feedback HTML shows only what the grader decides (see ``FeedbackHidesTests``) and
  escapes HTML the student wrote;
- cells tagged ``uses-answers`` in the *source* (demonstrations, not graded) are skipped;
  :func:`gancourse.grading.assignments.repair` has already replaced every known cell's
  metadata with the source's, so a student's tags steer nothing.

It does not find or identify submissions and does not write the gradebook CSV.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path

__all__ = ["main"]

FAILURE: dict = {}  # what went wrong inside nbgrader, filled by GradingExecute


class Tampering(Exception):
    """The integrity check found that the tests' tools were changed (see :mod:`.guard`)."""


def _free_names(source: str) -> list[str]:
    """Names a test cell reads without binding them itself (``torch``, ``math``, answers)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
    return sorted(loaded - bound)


def _preprocessors():
    """nbgrader classes, subclassed; imported lazily (nbgrader is slow to import)."""
    import secrets

    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbconvert.preprocessors.sanitize import ALLOWED_TAGS, SanitizeHTML
    from nbformat.v4 import new_code_cell, new_output
    from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
    from nbgrader.utils import is_grade, is_solution
    from traitlets import Integer, List, Unicode

    from .guard import TAG

    class GradingExecute(Execute):
        """nbgrader's Execute with an output cap, a record of why execution stopped, the
        integrity check around every test cell (:mod:`.guard`), test cells run without
        entering IPython's history, and a check that every test cell did run."""

        max_output_bytes = Integer(200_000).tag(config=True)
        tests = List(Unicode()).tag(config=True)  # grade ids of the test cells, from the source

        def preprocess(self, nb, resources=None, km=None):
            self._bytes, self._capped, self._cell, self._snapped, self._ran = {}, set(), None, False, set()
            try:
                out = super().preprocess(nb, resources, km=km)
            except CellTimeoutError:
                FAILURE.setdefault("kind", "timeout")
                FAILURE.setdefault("cell", self._cell)
                raise
            except DeadKernelError:
                FAILURE.update(kind="dead", cell=self._cell)
                raise
            except RuntimeError as err:  # nbclient's other kernel failures (it failed to start, ...)
                if "kernel" in str(err).lower():
                    FAILURE.update(kind="kernel", cell=self._cell, detail=str(err)[:300])
                raise
            missing = [gid for gid in self.tests if gid not in self._ran]
            if missing:  # nbgrader would count a test cell that never ran as passed
                FAILURE.update(kind="not run", detail=", ".join(missing))
                raise Tampering(f"test cells did not run: {missing}")
            return out

        def _guard(self, call: str, where: str, retry: bool = True) -> list[str]:
            """Run ``guard.<call>`` as an invisible cell; its findings ([] when intact). A cell
            that showed nothing at all is run once more (under heavy load its line was once
            seen missing); a rewritten cell shows nothing the second time too."""
            nonce = secrets.token_hex(12)
            code = f"__import__('gancourse.grading.guard', fromlist=['guard']).{call.replace('NONCE', repr(nonce))}"
            self._cell = where
            cell = self.execute_cell(new_code_cell(code), -1, store_history=False)
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            lines = [line for line in text.splitlines() if line.startswith(f"{TAG} {nonce} ")]
            if not lines and not cell.outputs and retry:
                return self._guard(call, where, retry=False)
            if len(lines) != 1:
                seen = "; ".join(f"{o.get('ename')}: {o.get('evalue')}" if o.get("output_type") == "error" else
                                 repr(o.get("text", o.get("data", "")))[:80] for o in cell.outputs)[:200]
                return [f"the integrity check {where} did not report (the cell was rewritten or its output "
                        f"hidden; it showed {seen or 'nothing'})"]
            verdict = lines[0][len(f"{TAG} {nonce} "):]
            if verdict in ("ok", "snapshot"):
                return []
            try:
                return json.loads(verdict.partition(" ")[2]) or [verdict]
            except ValueError:
                return [verdict[:300]]

        def _stop(self, found: list[str], where: str) -> None:
            FAILURE.update(kind="tampering", cell=where, detail="; ".join(found)[:400])
            raise Tampering(FAILURE["detail"])

        def preprocess_cell(self, cell, resources, index):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            where = f"cell {index}" + (f" ({gid})" if gid else "")
            if not self._snapped:
                self._snapped = True
                found = self._guard("snapshot(NONCE)", "before the first cell")
                if found:
                    self._stop(found, "before the first cell")
            self._cell = where
            test = cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
            if not test:
                return super().preprocess_cell(cell, resources, index)
            names = _free_names(cell.source)
            found = self._guard(f"report(NONCE, {names!r})", f"before {where}")
            if found:
                self._stop(found, f"before {where}")
            self._cell = where
            self._check_assign_resources(resources)
            cell = self.execute_cell(cell, index, store_history=False)  # hidden tests stay out of In/_ih
            self._ran.add(gid)
            found = self._guard(f"report(NONCE, {names!r})", f"after {where}")
            if found:
                self._stop(found, f"after {where}")
            return cell, self.resources

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
                content = msg.get("content", {})
                size = len(content.get("text", "")) if msg["msg_type"] == "stream" else len(json.dumps(content))
                used = self._bytes.get(cell_index, 0) + size
                self._bytes[cell_index] = used
                if used > self.max_output_bytes:
                    if cell_index not in self._capped:
                        self._capped.add(cell_index)
                        outs.append(new_output("stream", name="stdout", text=(
                            f"\n[grader: output beyond {self.max_output_bytes} bytes was dropped]\n")))
                    return None
            return super().output(outs, msg, display_id, cell_index)

    class StderrIsNotFailure(NbGraderPreprocessor):
        """Show a test cell's stderr as ordinary output: nbgrader would score it 0,
        but warnings (torch prints some) are not failures. Errors still are."""

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code" and is_grade(cell):
                for out in cell.outputs:
                    if out.output_type == "stream" and out.name == "stderr":
                        out.name = "stdout"
            return cell, resources

    class FeedbackHidesTests(ClearHiddenTests):
        """Feedback that shows only what the grader decides: a test cell keeps its visible
        source and, when it failed, one line (the error's type and message); whatever the
        student's code printed or displayed while a test ran is dropped. Every line of a
        hidden test is removed from every output (as text, repr, JSON or HTML), so printing
        ``In`` or the caller's frame shows nothing of them. Markdown the student wrote is
        sanitised (instructors open these pages; the exporter only sanitises outputs)."""

        trusted_markdown = List(Unicode()).tag(config=True)

        def preprocess(self, nb, resources):
            self._hidden = _hidden_lines(nb)
            nb, resources = super().preprocess(nb, resources)
            for cell in nb.cells:
                if "outputs" in cell:  # one stream may arrive in pieces: join them, then scrub
                    cell.outputs = _join_streams(cell.outputs)
                for out in cell.get("outputs", []):
                    _scrub(out, self._hidden)
            return nb, resources

        def preprocess_cell(self, cell, resources, index):
            cell, resources = super().preprocess_cell(cell, resources, index)
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
                errors = [o for o in cell.outputs if o.output_type == "error"]
                cell.outputs = [new_output("error", ename=e.ename, evalue=str(e.evalue)[:500],
                                           traceback=[f"{e.ename}: {str(e.evalue)[:500]}"]) for e in errors[-1:]]
            elif cell.cell_type in ("markdown", "raw") and cell.source.strip() not in self.trusted_markdown:
                cell.source = SanitizeHTML(tags=[*ALLOWED_TAGS, "details", "summary"]).sanitize_html_tags(cell.source)
            return cell, resources

    return GradingExecute, StderrIsNotFailure, FeedbackHidesTests


# nbgrader's markers, built at run time: the package is visible to graded code, and a search
# of its files for the marker must find only real hidden tests (tests/test_grading.py does one).
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN " + "HIDDEN TESTS", "### END " + "HIDDEN TESTS"


def _hidden_lines(nb) -> list[str]:
    """Every line of a hidden test in ``nb`` (longest first), with the forms it takes when
    printed as a repr, as JSON and as HTML."""
    import html

    lines = set()
    for cell in nb.cells:
        src = cell.get("source", "")
        while HIDDEN_BEGIN in src:
            block, _, src = src.partition(HIDDEN_BEGIN)[2].partition(HIDDEN_END)
            lines.update(x.strip() for x in block.splitlines() if len(x.strip()) >= 6)
    forms = set()
    for line in lines:
        forms.update({line, repr(line)[1:-1], json.dumps(line)[1:-1], html.escape(line),
                      html.escape(line, quote=False)})
    return sorted(forms, key=len, reverse=True)


def _join_streams(outputs: list) -> list:
    joined = []
    for out in outputs:
        if (out.get("output_type") == "stream" and joined and joined[-1].get("output_type") == "stream"
                and joined[-1].get("name") == out.get("name")):
            joined[-1]["text"] = joined[-1].get("text", "") + out.get("text", "")
        else:
            joined.append(out)
    return joined


def _scrub(out, hidden: list[str]) -> None:
    def clean(text):
        if isinstance(text, list):
            return [clean(t) for t in text]
        if not isinstance(text, str):
            return text
        for line in hidden:
            if line in text:
                text = text.replace(line, "[hidden test]")
        return text

    for key in ("text", "evalue", "traceback"):
        if key in out:
            out[key] = clean(out[key])
    for mime, value in list(out.get("data", {}).items()):
        if mime.startswith("text/") or mime.endswith(("json", "javascript")):
            out["data"][mime] = clean(value)


def _config(job: dict):
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, GetGrades, SaveAutoGrades
    from traitlets.config import Config

    from .sandbox import KERNEL_NAME

    GradingExecute, StderrIsNotFailure, FeedbackHidesTests = _preprocessors()
    c = Config()
    c.CourseDirectory.root = job["course"]
    c.CourseDirectory.course_id = "gancourse"
    steps = []
    for pp in Autograde.class_traits()["autograde_preprocessors"].default():
        if pp is Execute:
            pp = GradingExecute
        if pp is SaveAutoGrades:
            steps.append(StderrIsNotFailure)
        steps.append(pp)
    c.Autograde.autograde_preprocessors = steps
    c.Autograde.create_student = True
    c.GradingExecute.timeout = int(job["cell_timeout"])
    c.GradingExecute.startup_timeout = 120
    c.GradingExecute.kernel_name = KERNEL_NAME
    c.GradingExecute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
    c.GradingExecute.max_output_bytes = int(job["max_output_bytes"])
    c.GradingExecute.shutdown_kernel = "immediate"
    c.GradingExecute.tests = list(job.get("tests", []))
    # Demonstration cells (tagged in the source) are not graded and may train: skip them.
    c.GradingExecute.skip_cells_with_tag = "uses-answers"
    c.LimitOutput.max_lines = 1000
    c.GenerateFeedback.preprocessors = [GetGrades, FeedbackHidesTests, CSSHTMLHeaderPreprocessor]
    c.HTMLExporter.sanitize_html = True  # instructors open these pages: no student <script>
    c.FeedbackHidesTests.enforce_metadata = False
    c.FeedbackHidesTests.trusted_markdown = job["trusted_markdown"]
    return c


def _install_kernelspec(job: dict) -> None:
    from .sandbox import KERNEL_NAME, kernel_spec

    spec_dir = Path(job["jupyter_path"]) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(kernel_spec(Path(job["kernel_config"]))))
    os.environ["JUPYTER_PATH"] = job["jupyter_path"]
    os.environ["JUPYTER_RUNTIME_DIR"] = job["runtime_dir"]
    os.environ["JUPYTER_DATA_DIR"] = job["runtime_dir"]


def _scores(job: dict) -> dict:
    from nbgrader.api import Gradebook

    aid, sid = job["assignment"], job["student"]
    with Gradebook(f"sqlite:///{job['course']}/gradebook.db", "gancourse") as gb:
        sub = gb.find_submission_notebook(aid, aid, sid)
        return {g.name: g.auto_score for g in sub.grades if g.auto_score is not None}


def _reason(job: dict) -> str:
    kind, where = FAILURE.get("kind"), FAILURE.get("cell") or "a cell"
    if kind == "timeout":
        return (f"{where} ran past the {job['cell_timeout']} s per-cell time limit and did not stop "
                "when interrupted")
    if kind == "dead":
        return (f"the kernel died while running {where} (os._exit, a crash, or a kill for exceeding "
                "a limit)")
    if kind == "kernel":
        return f"the kernel failed while running {where}: {FAILURE.get('detail', '')}"
    if kind == "tampering":
        return f"tampering: {where}, {FAILURE.get('detail', '')}"
    if kind == "not run":
        return f"tampering: test cells did not run ({FAILURE.get('detail', '')})"
    return ""


def grade(job: dict) -> dict:
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    log = logging.getLogger("traitlets")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep(level=logging.WARNING)
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    c = _config(job)
    coursedir = CourseDirectory(config=c)
    coursedir.assignment_id, coursedir.student_id = job["assignment"], job["student"]
    t0 = time.perf_counter()
    try:
        Autograde(coursedir=coursedir, config=c).start()
    except NbGraderException:
        reason = _reason(job) or "nbgrader could not autograde it: " + _last_error(records)
        return {"status": "not graded", "reason": reason, "log": records[-20:]}
    t1 = time.perf_counter()
    result = {"status": "graded", "scores": _scores(job), "log": records[-20:]}
    try:
        GenerateFeedback(coursedir=coursedir, config=c).start()
    except NbGraderException:
        result["feedback_error"] = _last_error(records)
    result["seconds"] = {"autograde": round(t1 - t0, 2), "feedback": round(time.perf_counter() - t1, 2)}
    kernel = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = {"grader": round(time.process_time(), 2), "kernel": round(kernel.ru_utime + kernel.ru_stime, 2)}
    return result


def _last_error(records: list[str]) -> str:
    for line in reversed(records):
        text = line.strip().splitlines()[-1] if line.strip() else ""
        if text and not text.startswith("There was an error processing") \
                and not text.startswith("Please see"):
            return text[:300]
    return "unknown error"


def skip_slow_imports() -> None:
    """jsonschema imports ``rfc3987_syntax`` when it is installed, which compiles a grammar
    (a second or more of CPU per process); nbformat's validation never uses it."""
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    t_start = time.perf_counter()
    skip_slow_imports()
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    result_path = Path(job["result"])
    try:
        if job["isolated"]:
            from .sandbox import bring_loopback_up

            bring_loopback_up()
        if job["memory_mb"]:
            limit = int(job["memory_mb"]) * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        _install_kernelspec(job)
        import nbgrader.converters  # noqa: F401  (timed: the import is a large part of the cost)

        t_import = time.perf_counter() - t_start
        result = grade(job)
        result.setdefault("seconds", {})["startup"] = round(t_import, 2)
    except BaseException as err:  # report, never hang the batch
        result = {"status": "not graded",
                  "reason": f"grader error: {type(err).__name__}: {err}"[:400],
                  "traceback": traceback.format_exc()[-3000:]}
    result_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
