"""Hostile submissions, graded the way an instructor grades a class: one batch run of the
grading command over a folder of notebooks, each trying one trick, and the exact gradebook
row each must get. A tiny exercise made for these tests (``tests/grading_exercise/tiny.ipynb``,
two questions, 2 + 1 points) keeps the whole suite to about a minute of grading.

A second batch grades notebooks that hold processes, memory or CPU beside correct
notebooks at the same time: the correct ones must get full marks (per-submission
isolation, :mod:`gancourse.grading.isolation`).
"""
import csv
import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gancourse.grading import assignments as A
from gancourse.grading import isolation as I
from gancourse.grading import sandbox as S

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "grading_exercise"
TINY = "tiny"
Q1, Q2 = "tiny_double", "tiny_norm"
FULL, ZERO = {Q1: 2.0, Q2: 1.0}, {Q1: 0.0, Q2: 0.0}
HIDDEN_LINES = ("hidden-line-alpha", "hidden-line-beta", "x + x, \"double on a range", "vector_norm(y)")
RIGHT_Q1 = "def double(x):\n    return x * 2\n"
WRONG_Q1 = "def double(x):\n    return x * 3\n"
RIGHT_Q2 = "def norm(x):\n    return (x * x).sum().sqrt()\n"


@functools.lru_cache(maxsize=None)
def _release() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        A.build_course(SOURCE, Path(tmp), [TINY])
        nb = json.loads((Path(tmp) / "release" / TINY / f"{TINY}.ipynb").read_text())
    return json.dumps(A.release_notebook(nb, TINY))


def release() -> dict:
    """The exercise as students get it (nbgrader's release, no solutions, no hidden tests): a new copy."""
    return json.loads(_release())


def cell(nb: dict, cid: str) -> dict:
    return next(c for c in nb["cells"] if c.get("id") == cid)


def answered(q1: str = RIGHT_Q1, q2: str = RIGHT_Q2, extra: str = "", after_test: str = "") -> dict:
    """The exercise with answers; ``extra`` runs at the end of answer 1, ``after_test`` in a
    cell of the student's after the first test cell."""
    nb = release()
    cell(nb, "tiny-double-answer")["source"] = q1 + extra
    cell(nb, "tiny-norm-answer")["source"] = q2
    if after_test:
        i = nb["cells"].index(cell(nb, "tiny-double-test"))
        nb["cells"].insert(i + 1, {"cell_type": "code", "id": "mine", "metadata": {}, "outputs": [],
                                   "execution_count": None, "source": after_test})
    return nb


def tagged_tests(nb: dict, tag: str) -> dict:
    for cid in ("tiny-double-test", "tiny-norm-test"):
        cell(nb, cid)["metadata"]["tags"].append(tag)
    return nb


def reweighted(nb: dict) -> dict:
    cell(nb, "tiny-double-test")["metadata"]["nbgrader"]["points"] = 100
    cell(nb, "tiny-norm-test")["metadata"]["nbgrader"].update(grade=False, locked=False)
    cell(nb, "tiny-double-answer")["metadata"]["nbgrader"]["grade"] = True
    nb["metadata"]["kernelspec"] = {"name": "python2", "display_name": "not this one", "language": "python"}
    return nb


TAMPER = "not graded: tampering: before cell 4 (tiny_double), "

# name -> (notebook, status (exact; for tampering, how it starts), scores or None, a note that must appear)
CASES = {
    "solved.ipynb": (answered(), "graded", FULL, None),
    "blank.ipynb": (release(), "graded", ZERO, None),
    "wrong.ipynb": (answered(q1=WRONG_Q1), "graded", {Q1: 0.0, Q2: 1.0}, None),
    # student metadata never steers grading
    "skip_tag.ipynb": (tagged_tests(release(), "uses-answers"), "graded", ZERO,
                       "tiny_double: its grading metadata or tags were changed"),
    "skip_tag_demo.ipynb": (tagged_tests(answered(), "skip-execution"), "graded", FULL, "tags were changed"),
    "reweighted.ipynb": (reweighted(answered(q1=WRONG_Q1)), "graded", {Q1: 0.0, Q2: 1.0},
                         "the notebook's kernelspec was changed"),
    # tampering in the kernel: never a score
    "tensor_alias.ipynb": (answered(q1=WRONG_Q1, extra="T = torch.Tensor\nT.any = lambda self, *a, **k: False\n"),
                           TAMPER + "torch.Tensor.any was added", None, "review: assigns to an attribute"),
    "transformer.ipynb": (answered(q1=WRONG_Q1, extra=(
        'ip = eval("get_" + "ipython")()\n'
        'ip.input_transformers_post.append(lambda lines: ["pass\\n"] if any("checks" in l for l in lines) else lines)\n')),
        TAMPER + "IPython's input_transformers_post changed", None, "review: runs code from strings"),
    "transform_all.ipynb": (answered(q1=WRONG_Q1, extra=(
        'get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])\n')),
        TAMPER + "the integrity check before cell 4 (tiny_double) did not report", None, "review: uses get_ipython"),
    "reload.ipynb": (answered(q1=WRONG_Q1, extra=(
        "import importlib, gancourse.grading.checks\nimportlib.reload = lambda m: m\n"
        "gancourse.grading.checks.close = lambda *a, **k: None\n")),
        TAMPER + "importlib.reload was replaced", None, "review: uses importlib"),
    "custom_exc.ipynb": (answered(q1=WRONG_Q1, extra=(
        "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)\n")),
        TAMPER + "the IPython shell: CustomTB was replaced", None, "review: changes IPython's"),
    "settrace.ipynb": (answered(q1=WRONG_Q1, extra="import sys\nsys.settrace(lambda *a: None)\n"),
                       TAMPER + "the trace function (sys.settrace) changed", None, "review: sets a trace"),
    "builtins.ipynb": (answered(q1=WRONG_Q1, extra="import builtins\nbuiltins.bool = lambda x: False\n"),
                       TAMPER + "the integrity check before cell 4 (tiny_double) did not report", None, "review: touches builtins"),
    "fake_torch.ipynb": (answered(q1=WRONG_Q1, extra=(
        "import types\n_real = torch\ntorch = types.SimpleNamespace(tensor=_real.tensor, linspace=_real.linspace)\n")),
        TAMPER + "the name 'torch' the tests use is not the module torch", None, "review: rebinds a name"),
    "gancourse_file.ipynb": (answered(q1=WRONG_Q1, extra="import gancourse\ngancourse.__file__ = '/tmp/x/__init__.py'\n"),
                             TAMPER + "gancourse.__file__ was replaced", None, None),
    "thread.ipynb": (answered(q1=WRONG_Q1, extra=(
        "import threading, time\n\ndef later():\n    time.sleep(30)\n\n"
        "threading.Thread(target=later, daemon=True).start()\n")),
        TAMPER + "the threads started by the notebook changed", None, "review: starts threads"),
    "function_mode.ipynb": (answered(q1=WRONG_Q1, extra=(
        "from torch.overrides import TorchFunctionMode\n\nclass Quiet(TorchFunctionMode):\n"
        "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
        "        return func(*args, **(kwargs or {}))\n\nQuiet().__enter__()\n")),
        TAMPER + "torch's function and dispatch modes changed", None, "review: changes torch dispatch"),
    "patch_during_test.ipynb": (answered(q1=(
        "def double(x):\n    import gancourse.grading.checks as c\n    c.close = lambda *a, **k: None\n"
        "    return x * 3\n")), "not graded: tampering: after cell 4 (tiny_double), checks.close was changed", None, None),
    # ordinary notebooks that look unusual: graded, with review notes
    "magics.ipynb": (answered(extra="%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"),
                     "graded", FULL, "review: uses get_ipython or IPython magics"),
    "exit.ipynb": (answered(extra="exit()\n", after_test="quit()\n"), "graded", FULL, None),
    # feedback shows no hidden test and no student output of test cells
    "leaky.ipynb": (answered(q1=(
        "def double(x):\n    import inspect, linecache\n    print('STUDENT-' + 'OUTPUT-IN-TEST')\n"
        "    print(''.join(linecache.getlines(inspect.stack()[1].filename)))\n    return x * 2\n"),
        after_test="print(In)\nprint(_ih)\nprint(repr(''.join(In)))\nimport inspect\n"), "graded", FULL,
        "review: inspects frames"),
    "bob/old/tiny.ipynb": (release(), "graded", ZERO, None),
    "bob/tiny.ipynb": (answered(), "graded", FULL, "more than one notebook"),
    "=HYPERLINK(1).ipynb": (answered(), "graded", FULL, None),
}


# Without root there is no per-submission isolation, and grading several notebooks at once
# must be allowed explicitly (the tests grade a few at a time).
SHARED = () if os.geteuid() == 0 else ("--shared-limits",)


def grade(subs: Path, out: Path, *extra: str, timeout: float = 480) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-m", "gancourse.grading", "grade", str(subs), "--out", str(out),
                           "--source", str(SOURCE), "--cell-timeout", "30", *extra, *SHARED],
                          capture_output=True, text=True, timeout=timeout, cwd=str(out.parent))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out, newline="", encoding="utf-8") as f:
        return {r["file"]: r for r in csv.DictReader(f)}, proc.stdout + proc.stderr


def require_sandbox() -> None:
    ok, why = S.probe()
    if not ok:
        pytest.skip(f"the grading sandbox is not available here: {why}")


def write(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    require_sandbox()
    tmp = tmp_path_factory.mktemp("hostile")
    subs = tmp / "submissions"
    for name, (nb, *_rest) in CASES.items():
        write(nb, subs / name)
    (subs / "big.ipynb").write_text(json.dumps({**answered(), "padding": "x" * (20 * 2**20)}))
    os.symlink(SOURCE / "tiny.ipynb", subs / "linked.ipynb")  # the source, hidden tests included
    os.symlink(SOURCE, subs / "linked_folder")
    t0 = time.perf_counter()
    rows, output = grade(subs, tmp / "gradebook.csv", "--jobs", "2")
    print(f"\n{len(rows)} hostile submissions graded in {time.perf_counter() - t0:.1f} s: {output.strip()}")
    return {"rows": rows, "tmp": tmp, "output": output}


def _row(hostile, name):
    rows = hostile["rows"]
    key = "'" + name if name.startswith("=") else name
    assert key in rows, f"{name}: no row; rows: {sorted(rows)}"
    return rows[key]


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_gets_its_exact_row(hostile, name):
    _, status, scores, note = CASES[name]
    row = _row(hostile, name)
    if status.startswith("not graded: tampering"):  # further findings may follow the first
        assert row["status"].startswith(status), f"{name}: {row['status']!r} (notes: {row['notes']})"
    else:
        assert row["status"] == status, f"{name}: {row['status']!r} (notes: {row['notes']})"
    if scores is None:
        assert row["total"] == row["max_total"] == "" and row[Q1] == row[Q2] == "", f"{name}: a not-graded row has scores"
    else:
        assert {q: float(row[q]) for q in scores} == scores, f"{name}: {row}"
        assert float(row["total"]) == sum(scores.values()) and row["max_total"] == "3", row
    if note:
        assert note in row["notes"], f"{name}: {note!r} not in {row['notes']!r}"
    assert row["feedback"] and (hostile["tmp"] / row["feedback"]).is_file()


def page(hostile, name) -> str:
    return (hostile["tmp"] / _row(hostile, name)["feedback"]).read_text()


def test_limits_and_links(hostile):
    rows = hostile["rows"]
    assert rows["big.ipynb"]["status"] == "not graded: the file is larger than 20 MB"
    assert rows["linked.ipynb"]["status"].startswith("not graded: a symbolic link")
    assert not any(f.startswith("linked_folder") for f in rows), "a linked folder was followed"
    assert "linked_folder is a symbolic link to a folder: not followed" in hostile["output"]


def test_one_feedback_page_per_submission_named_from_its_path(hostile):
    pages = [r["feedback"] for r in hostile["rows"].values()]
    assert len(set(pages)) == len(pages), "two submissions share a feedback page"
    assert _row(hostile, "bob/tiny.ipynb")["feedback"].endswith("gradebook-feedback/bob/tiny.html")
    assert _row(hostile, "bob/old/tiny.ipynb")["feedback"].endswith("gradebook-feedback/bob/old/tiny.html")
    assert "Not graded" not in page(hostile, "bob/tiny.ipynb")


def test_csv_cells_cannot_be_formulas(hostile):
    text = (hostile["tmp"] / "gradebook.csv").read_text()
    for line in text.splitlines()[1:]:
        for value in next(csv.reader([line])):
            assert not value.startswith(("=", "+", "-", "@")), f"a formula in the CSV: {value!r}"
    assert "'=HYPERLINK(1).ipynb" in text


def test_feedback_shows_no_hidden_test_and_no_test_output(hostile):
    leaky = page(hostile, "leaky.ipynb")
    assert "STUDENT-OUTPUT-IN-TEST" not in leaky, "student output of a test cell reached the feedback"
    for name in hostile["rows"]:
        if hostile["rows"][name]["feedback"]:
            text = (hostile["tmp"] / hostile["rows"][name]["feedback"]).read_text()
            for line in HIDDEN_LINES:
                assert line not in text and line.replace('"', "&quot;") not in text, f"{name}: hidden test in feedback"
    failed = page(hostile, "wrong.ipynb")
    assert "AssertionError: double([1, 2]) is wrong" in failed, "a failed test shows its message"


def test_repair_takes_every_cells_metadata_from_the_source():
    nb = tagged_tests(reweighted(answered()), "uses-answers")
    mine = {"cell_type": "code", "id": "own", "metadata": {"tags": ["uses-answers"], "nbgrader": {
        "grade": True, "grade_id": "fake", "locked": True, "points": 50, "solution": False}},
        "outputs": [], "execution_count": None, "source": "pass"}
    nb["cells"].append(mine)
    repaired, notes = A.repair(nb, release())
    for c in release()["cells"]:
        assert cell(repaired, c["id"])["metadata"] == c["metadata"], c["id"]
    assert cell(repaired, "own")["metadata"] == {} and repaired["metadata"] == release()["metadata"]
    assert any("fake" in n for n in notes) and any("kernelspec" in n for n in notes)


def test_review_reads_the_syntax_tree_not_the_text():
    def nb(src):
        return {"cells": [{"cell_type": "code", "metadata": {}, "source": src}]}

    assert A.review(nb("T = torch.Tensor\nT.any = None"), release())[0].startswith(
        "review: assigns to an attribute of an imported module or class (monkeypatching) (cell 0, line 2: T.any")
    assert A.review(nb("s = 'get_ipython and importlib and torch.x = 1'  # sys.settrace"), release()) == []
    assert "eval" in A.review(nb('eval("get_" + "ipython")()'), release())[0]
    assert A.review(nb("def f(:"), release())[0].startswith("review: code that does not parse")


# ------------------------------------------------------------------ isolation between submissions
HOARD = '''
import subprocess, time
held = []
try:
    while len(held) < 3000:
        held.append(subprocess.Popen(["sleep", "1000"]))
except OSError:
    pass
print("HOARD held", len(held), "processes")
time.sleep(45)
for p in held:
    p.kill()
    p.wait()
'''
MEMORY_HOG = '''
import subprocess, sys, time
code = ("open('/proc/self/oom_score_adj', 'w').write('1000'); b = bytearray(b'x') * (1000 * 2**20); "
        "import time; time.sleep(30)")
children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
time.sleep(12)
print("HOG killed", sum(c.poll() == -9 for c in children), "of 4")
for c in children:
    c.kill()
'''
CPU_BURNER = '''
import subprocess, sys
burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
import time
time.sleep(120)
'''


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """Correct notebooks graded three at a time beside notebooks that hoard processes,
    memory and CPU."""
    require_sandbox()
    if os.geteuid() != 0 or I.choose("auto").kind not in ("cgroup1", "cgroup2"):
        pytest.skip("per-submission cgroups need root and a cgroup hierarchy")
    tmp = tmp_path_factory.mktemp("crowded")
    subs = tmp / "submissions"
    write(answered(extra=HOARD), subs / "a_hoarder.ipynb")
    write(answered(extra=MEMORY_HOG), subs / "b_memory.ipynb")
    for i in range(4):
        write(answered(), subs / f"c_correct{i}.ipynb")
    write(answered(extra=CPU_BURNER), subs / "d_cpu.ipynb")
    rows, output = grade(subs, tmp / "gradebook.csv", "--jobs", "3", "--job-processes", "200",
                         "--job-memory-mb", "1600", "--job-cpu-seconds", "25", "--cell-timeout", "150")
    return {"rows": rows, "tmp": tmp, "output": output}


def test_a_hostile_notebook_does_not_change_other_results(crowded):
    rows = crowded["rows"]
    for i in range(4):
        row = rows[f"c_correct{i}.ipynb"]
        assert row["status"] == "graded" and row["total"] == "3", f"c_correct{i}: {row['status']} {row['notes']}"
    hoarder = rows["a_hoarder.ipynb"]
    assert hoarder["status"] == "graded" and hoarder["total"] == "3", hoarder
    held = int(re.search(r"HOARD held (\d+) processes", (crowded["tmp"] / hoarder["feedback"]).read_text()).group(1))
    assert 50 < held < 200, f"the hoarder held {held} processes (its budget is 200 tasks)"


def test_memory_is_limited_per_submission(crowded):
    row = crowded["rows"]["b_memory.ipynb"]
    assert row["status"] == "graded" and row["total"] == "3", row
    assert "went over its memory budget of 1600 MB" in row["notes"]
    killed = int(re.search(r"HOG killed (\d) of 4", (crowded["tmp"] / row["feedback"]).read_text()).group(1))
    assert killed >= 1, "four children of 1000 MB each all lived in a 1600 MB budget"


def test_cpu_time_is_limited_per_submission(crowded):
    row = crowded["rows"]["d_cpu.ipynb"]
    assert row["status"] == "not graded: the submission used more than its 25 s of CPU time (its processes were killed)"
    leftovers = [p for p in Path("/sys/fs/cgroup/pids").glob(I.PREFIX + "*")]
    assert not leftovers, f"cgroups left behind: {leftovers}"


def test_parallel_grading_without_isolation_is_refused(tmp_path):
    subs = tmp_path / "submissions"
    write(answered(), subs / "a.ipynb")
    proc = subprocess.run([sys.executable, "-m", "gancourse.grading", "grade", str(subs), "--out",
                           str(tmp_path / "g.csv"), "--source", str(SOURCE), "--isolation", "none", "--jobs", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "per-submission isolation is not available" in proc.stderr
    assert not (tmp_path / "g.csv").exists()
