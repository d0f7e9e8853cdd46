"""Exercises and autograding: the nbgrader source, the generated exercises, and the
``python -m gancourse.grading grade`` command on good, empty and hostile submissions.

The slow tests share one graded batch (module fixture ``batch``): every solution, every
unmodified exercise, and one notebook per hostile case, graded in one run. The hostile
notebooks start from the solution of 05_losses (questions: losses_nonsaturating,
losses_bce, losses_hinge) and change one thing each.
"""
import copy
import csv
import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gancourse.grading import assignments as A
from gancourse.grading import sandbox as S

pytestmark = pytest.mark.timeout(1200)  # the shared batch grades 41 notebooks in its first test

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
CATALOGUE = A.load_catalogue(SOLUTIONS)
HIDDEN = "BEGIN " + "HIDDEN TESTS"  # built at run time, so that this file does not contain the marker
LOSSES = "05_losses"
Q1, Q2, Q3 = (gid for gid, _ in CATALOGUE[LOSSES].questions)
FULL = dict(CATALOGUE[LOSSES].questions)
CELL_TIMEOUT = 30  # the hostile loops wait this long; solutions' cells take a few seconds at most


@functools.lru_cache(maxsize=None)
def sandbox() -> tuple:
    """(available, explanation) on this machine, probed once when a test first needs it."""
    return S.probe()


def require_sandbox() -> None:
    ok, why = sandbox()
    if not ok:
        pytest.skip(f"the grading sandbox is not available here: {why}")


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def write(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


def cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def solved(**answers) -> dict:
    """The 05_losses solution with some answer cells replaced (keys: grade ids of the questions)."""
    nb = load(SOLUTIONS / f"{LOSSES}.ipynb")
    for gid, source in answers.items():
        cell(nb, gid + "_answer")["source"] = source
    return nb


WRONG_Q1 = "def g_loss_nonsaturating(fake_logits):\n    return fake_logits.sum() * 0\n"
Q1_SOLUTION = "import torch.nn.functional as F\n\ndef g_loss_nonsaturating(fake_logits):\n    return F.softplus(-fake_logits).mean()\n"

LEAK_PROBE = r'''
import os, pathlib
import gancourse
marker = "BEGIN " + "HIDDEN TESTS"
repo = pathlib.Path(gancourse.__file__).resolve().parent.parent
roots = [WORKDIR, SUBMISSIONS, str(repo / "solutions"), str(repo), "/tmp", "/work", "/root", "/home", os.getcwd()]
for pid in {"1", str(os.getppid())}:  # the grader's view of the files, through /proc
    roots += [f"/proc/{pid}/cwd", f"/proc/{pid}/root{WORKDIR}", f"/proc/{pid}/root{repo}/solutions"]
    try:
        for arg in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0"):
            if arg.endswith(b".json"):
                roots.append(str(pathlib.Path(arg.decode()).parent))
    except OSError:
        pass
read, found = 0, []
for root in roots:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages", ".git", ".venv")]
        for name in filenames:
            if len(found) >= 5 or read >= 20000:
                break
            path = os.path.join(dirpath, name)
            if not name.endswith((".ipynb", ".db", ".json", ".html", ".py", ".csv", ".txt")):
                continue
            try:
                if os.path.getsize(path) < 20_000_000:
                    read += 1
                    if marker.encode() in open(path, "rb").read():
                        found.append(path)
            except OSError:
                pass
print("LEAK-PROBE", f"read {read} files; {len(found)} hold hidden tests: {found[:5]}")
'''


def leak_probe(workdir: Path, submissions: Path) -> dict:
    source = (f"WORKDIR, SUBMISSIONS = {str(workdir)!r}, {str(submissions)!r}\n" + Q1_SOLUTION + LEAK_PROBE)
    return solved(**{Q1: source})


def net_probe(port: int, address: str) -> dict:
    source = Q1_SOLUTION + f'''
import socket
for host in ("127.0.0.1", {address!r}):
    try:
        socket.create_connection((host, {port}), timeout=3).close()
        print("NET-PROBE", host, "reached")
    except OSError as err:
        print("NET-PROBE", host, "blocked:", type(err).__name__)
'''
    return solved(**{Q1: source})


def _index(nb: dict, grade_id: str) -> int:
    return nb["cells"].index(cell(nb, grade_id))


def hostile_cases(tmp: Path, submissions: Path, port: int, address: str) -> dict:
    """file name -> (notebook dict or raw text, expected status prefix, expected scores or None)."""
    no_q1_test = solved()
    no_q1_test["cells"].remove(cell(no_q1_test, Q1))
    edited = solved(**{Q1: WRONG_Q1})
    cell(edited, Q1)["source"] = "print('all tests passed')\n"
    infinite = solved(**{Q1: "while True:\n    pass\n" + Q1_SOLUTION})
    stubborn = solved(**{Q1: "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n"
                             "    except KeyboardInterrupt:\n        pass\n"})
    sys_exit = solved(**{Q1: Q1_SOLUTION + "import sys\nsys.exit()\n",
                         Q3: "".join(cell(solved(), Q3 + "_answer")["source"]) + "\nexit()\n"})
    os_exit = solved(**{Q1: Q1_SOLUTION + "import os\nos._exit(3)\n"})
    flood = solved(**{Q1: Q1_SOLUTION + "print('x' * 30_000_000)\nfor i in range(300_000):\n    print(i)\n"})
    memory = solved(**{Q2: "import torch\ntry:\n    torch.empty(4 * 2**30, dtype=torch.uint8)\n"
                           "    print('ALLOC-PROBE', 'allocated')\nexcept RuntimeError:\n"
                           "    print('ALLOC-PROBE', 'refused')\nhuge = bytearray(10**13)\n"})
    helpers = solved(**{Q1: WRONG_Q1 + (
        "import gancourse.grading.checks, gancourse.losses\n"
        "def _ok(*args, **kwargs):\n    return None\n"
        "gancourse.grading.checks.close = gancourse.grading.checks.check = _ok\n"
        "gancourse.grading.checks.finite = _ok\n"
        "gancourse.losses.g_loss_nonsaturating = g_loss_nonsaturating\n"
        "class checks:\n    close = check = finite = staticmethod(_ok)\n")})
    noisy = solved(**{Q1: "import sys, warnings\nimport torch.nn.functional as F\n\n"
                          "def g_loss_nonsaturating(fake_logits):\n"
                          "    warnings.warn('a warning on stderr, as torch prints them')\n"
                          "    print('and a line on stderr', file=sys.stderr)\n"
                          "    return F.softplus(-fake_logits).mean()\n"})
    script = solved(**{Q2: "".join(cell(solved(), Q2 + "_answer")["source"]) +
                           "\nfrom IPython.display import HTML, display\n"
                           "display(HTML('<script>alert(\"output\")</script>'))\n"})
    script["cells"].insert(3, {"cell_type": "markdown", "id": "mine", "metadata": {"tags": []},
                               "source": "<script>alert('markdown')</script> <img src=x onerror=alert(1)>"})
    stripped = solved()
    for c in stripped["cells"]:
        c["metadata"].pop("nbgrader", None)  # an editor that drops cell metadata (cell ids survive)
    stripped["metadata"].pop(A.EXERCISE_KEY, None)
    zero, full = {Q1: 0.0, Q2: 0.0, Q3: 0.0}, dict(FULL)
    return {
        "invalid.ipynb": ('{"cells": [ this is not json', "not graded: not a notebook (invalid JSON", None),
        "stranger.ipynb": ({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                           "not graded: cannot tell which exercise", None),
        "deleted_test.ipynb": (no_q1_test, "graded", full),
        "edited_test.ipynb": (edited, "graded", {**full, Q1: 0.0}),
        "carol/ex3 (1).ipynb": (solved(), "graded", full),
        "stripped_metadata.ipynb": (stripped, "graded", full),
        "infinite_loop.ipynb": (infinite, "graded", {**full, Q1: 0.0}),
        "stubborn_loop.ipynb": (stubborn, f"not graded: cell {_index(stubborn, Q1 + '_answer')} "
                                          f"({Q1}_answer) ran past the {CELL_TIMEOUT} s per-cell time limit", None),
        "sys_exit.ipynb": (sys_exit, "graded", full),
        "warnings.ipynb": (noisy, "graded", full),
        "script.ipynb": (script, "graded", full),
        "os_exit.ipynb": (os_exit, f"not graded: the kernel died while running cell {_index(os_exit, Q1 + '_answer')}",
                          None),
        "flood.ipynb": (flood, "graded", full),
        "memory.ipynb": (memory, "graded", {**full, Q2: 0.0}),
        "helpers.ipynb": (helpers, f"not graded: tampering: before cell {_index(helpers, Q1)} ({Q1}), ", None),
        "leak.ipynb": (leak_probe(tmp / "work", submissions), "graded", full),
        "network.ipynb": (net_probe(port, address), "graded", full),
        "empty_exercise.ipynb": (load(EXERCISES / f"{LOSSES}.ipynb"), "graded", zero),
    }


# Without root there is no per-submission isolation, and grading several notebooks at once
# must be allowed explicitly (the tests grade a few at a time).
SHARED = () if os.geteuid() == 0 else ("--shared-limits",)


def grade(submissions: Path, out: Path, *extra: str, timeout: float = 900) -> tuple[dict, float, str]:
    """Run the grading command; return ({file: row}, seconds, output)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gancourse.grading", "grade", str(submissions), "--out", str(out),
                           "--cell-timeout", str(CELL_TIMEOUT), *extra, *SHARED],
                          capture_output=True, text=True, timeout=timeout, cwd=str(out.parent))
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    return rows, seconds, proc.stdout + proc.stderr


def _host_address() -> str:
    """A non-loopback address of this machine (the one used to reach other hosts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.2"


@pytest.fixture(scope="module")
def listener():
    """A TCP server on every interface of the host: the network probe must not reach it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], _host_address(), accepted
    server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, listener):
    require_sandbox()
    port, address, accepted = listener
    tmp = tmp_path_factory.mktemp("batch")
    subs = tmp / "submissions"
    expected = {}
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        write(load(path), subs / f"solver_{path.stem}" / f"{path.stem}.ipynb")
        expected[f"solver_{path.stem}/{path.stem}.ipynb"] = ("graded", dict(CATALOGUE[path.stem].questions))
        write(load(EXERCISES / path.name), subs / f"blank_{path.stem}.ipynb")
        expected[f"blank_{path.stem}.ipynb"] = ("graded", {g: 0.0 for g, _ in CATALOGUE[path.stem].questions})
    for name, (nb, status, scores) in hostile_cases(tmp, subs, port, address).items():
        if isinstance(nb, str):
            (subs / name).parent.mkdir(parents=True, exist_ok=True)
            (subs / name).write_text(nb)
        else:
            write(nb, subs / name)
        expected[name] = (status, scores)
    rows, seconds, output = grade(subs, tmp / "gradebook.csv", "--workdir", str(tmp / "work"), "--time-limit", "300")
    return {"rows": rows, "expected": expected, "seconds": seconds, "output": output, "tmp": tmp,
            "subs": subs, "accepted": accepted}


# ------------------------------------------------------------------ fast tests (no kernel)
def test_enough_questions_each_with_hints_visible_and_hidden_tests():
    assert len(CATALOGUE) >= 12, "one exercise notebook per chapter"
    questions = 0
    for aid, a in CATALOGUE.items():
        nb = load(a.source)
        cells = nb["cells"]
        assert any("parameters" in c["metadata"].get("tags", []) for c in cells), f"{aid}: no parameters cell"
        for gid, points in a.questions:
            i = cells.index(cell(nb, gid))
            test = "".join(cells[i]["source"])
            visible, _, hidden = test.partition("### " + HIDDEN)
            assert "checks." in visible, f"{aid}/{gid}: no visible self-check"
            assert hidden.strip() and "checks." in hidden, f"{aid}/{gid}: no hidden tests"
            assert cells[i - 1]["metadata"]["nbgrader"]["solution"], f"{aid}/{gid}: the answer cell is not just above"
            task = "".join(cells[i - 2]["source"])
            assert cells[i - 2]["cell_type"] == "markdown" and "<summary>Hint" in task, f"{aid}/{gid}: no hint"
            assert cells[i]["metadata"]["nbgrader"]["locked"] and points > 0
            questions += 1
    assert questions >= 10


def test_exercises_are_current():
    stale = A.generate(SOLUTIONS, EXERCISES, check=True)
    assert not stale, f"exercises/ is out of date with solutions/: {stale}; run python -m gancourse.grading generate"


def test_exercises_hold_no_solutions_and_no_hidden_tests():
    for aid, a in CATALOGUE.items():
        source, exercise = load(a.source), load(EXERCISES / f"{aid}.ipynb")
        text = json.dumps(exercise)
        assert "BEGIN SOLUTION" not in text and HIDDEN not in text, aid
        assert exercise["metadata"][A.EXERCISE_KEY] == aid
        answers = {c["id"]: "".join(c["source"]) for c in exercise["cells"]}
        for c in source["cells"]:
            src = "".join(c["source"])
            if "### BEGIN SOLUTION" in src:
                body = src.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                for line in (x.strip() for x in body.splitlines()):
                    if len(line) > 12:
                        assert line not in answers[c["id"]], f"{aid}: solution line leaked: {line}"
                assert "raise NotImplementedError()" in answers[c["id"]]
            if "### " + HIDDEN in src:
                hidden = src.split("### " + HIDDEN)[1].split("### END HIDDEN TESTS")[0]
                for line in (x.strip() for x in hidden.splitlines()):
                    if len(line) > 20 and line not in src.split("### " + HIDDEN)[0]:
                        assert line not in answers[c["id"]], f"{aid}: hidden test leaked: {line}"
        for c in exercise["cells"]:
            meta = c["metadata"].get("nbgrader", {})
            if meta.get("solution") or meta.get("grade"):
                assert "raises-exception" in c["metadata"]["tags"], f"{aid}/{c['id']}: not tagged raises-exception"
            assert not c.get("outputs"), f"{aid}/{c['id']}: exercises carry no outputs"


def test_identify_uses_content_not_the_file_name():
    nb = load(EXERCISES / "07_stability.ipynb")
    assert A.identify(nb, "05_losses.ipynb", CATALOGUE)[0] == "07_stability"
    assert A.identify(nb, "homework (3).ipynb", CATALOGUE)[0] == "07_stability"
    for c in nb["cells"]:
        c["metadata"].pop("nbgrader", None)
    assert A.identify(nb, "x.ipynb", CATALOGUE) == ("07_stability", f"{len(nb['cells'])} cell id(s)")
    bare = {"cells": [], "metadata": {}}
    assert A.identify(bare, "09_cgan (2).ipynb", CATALOGUE) == ("09_cgan", "file name")
    assert A.identify(bare, "notes.ipynb", CATALOGUE) == (None, "")


def test_repair_restores_missing_and_tampered_test_cells():
    release = load(EXERCISES / f"{LOSSES}.ipynb")
    nb = copy.deepcopy(release)
    nb["cells"].remove(cell(nb, Q2))
    cell(nb, Q1)["metadata"]["nbgrader"]["points"] = 100
    cell(nb, Q3)["metadata"]["nbgrader"]["locked"] = False
    repaired, notes = A.repair(nb, release)
    assert [c["id"] for c in repaired["cells"]] == [c["id"] for c in release["cells"]]
    assert cell(repaired, Q1)["metadata"]["nbgrader"] == cell(release, Q1)["metadata"]["nbgrader"]
    assert cell(repaired, Q3)["metadata"]["nbgrader"]["locked"] is True
    assert any(Q2 in n and "missing" in n for n in notes)


def test_csv_never_writes_zero_for_not_graded(tmp_path):
    from gancourse.grading.batch import Submission, write_csv

    subs = [Submission(Path("a.ipynb"), "a.ipynb", "a", LOSSES, status="graded",
                       scores={Q1: 2.0, Q2: 0.0, Q3: 1.0}),
            Submission(Path("b.ipynb"), "b.ipynb", "b", LOSSES, status="not graded: the kernel died"),
            Submission(Path("c.ipynb"), "c.ipynb", "c", None, status="not graded: not a notebook")]
    write_csv(subs, CATALOGUE, tmp_path / "g.csv")
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert [rows[0][q] for q in (Q1, Q2, Q3)] + [rows[0]["total"], rows[0]["max_total"]] == ["2", "0", "1", "3", "5"]
    for r in rows[1:]:
        assert all(r[q] == "" for q in (Q1, Q2, Q3)) and r["total"] == "" and r["status"].startswith("not graded")


# ------------------------------------------------------------------ the graded batch
def test_batch_completes_with_one_row_per_notebook(batch):
    assert set(batch["rows"]) == set(batch["expected"]), batch["output"][-2000:]


@pytest.mark.parametrize("name", ["solver_", "blank_"])
def test_baselines(batch, name):
    """Every solution gets full marks; every unmodified exercise gets 0 and status graded."""
    cases = {k: v for k, v in batch["expected"].items() if k.startswith(name)}
    assert len(cases) == len(CATALOGUE)
    for file, (status, scores) in cases.items():
        row = batch["rows"][file]
        assert row["status"] == status, f"{file}: {row['status']}"
        assert {q: float(row[q]) for q in scores} == scores, file
        assert float(row["total"]) == sum(scores.values()) and row["feedback"], file


HOSTILE = ["invalid.ipynb", "stranger.ipynb", "deleted_test.ipynb", "edited_test.ipynb", "carol/ex3 (1).ipynb",
           "stripped_metadata.ipynb", "infinite_loop.ipynb", "stubborn_loop.ipynb", "sys_exit.ipynb", "os_exit.ipynb",
           "flood.ipynb", "memory.ipynb", "helpers.ipynb", "leak.ipynb", "network.ipynb", "empty_exercise.ipynb",
           "warnings.ipynb", "script.ipynb"]


@pytest.mark.parametrize("file", HOSTILE)
def test_hostile_submission_gets_its_documented_result(batch, file):
    status, scores = batch["expected"][file]
    row = batch["rows"][file]
    assert row["status"].startswith(status), f"{file}: {row['status']} (notes: {row['notes']})"
    if scores is None:
        assert row["total"] == "" and all(row[q] == "" for q in FULL), f"{file}: a not-graded row has scores"
    else:
        assert {q: float(row[q]) for q in scores} == scores, f"{file}: {row}"
    assert row["feedback"] and (batch["tmp"] / row["feedback"]).is_file()


def feedback(batch, file: str) -> str:
    return (batch["tmp"] / batch["rows"][file]["feedback"]).read_text()


def test_tampering_is_reported(batch):
    assert "restored" in batch["rows"]["deleted_test.ipynb"]["notes"]
    assert "edited" in batch["rows"]["edited_test.ipynb"]["notes"]
    assert "review: touches the test helpers" in batch["rows"]["helpers.ipynb"]["notes"]
    assert batch["rows"]["carol/ex3 (1).ipynb"]["student"] == "carol"


def test_feedback_runs_no_student_html(batch):
    page = feedback(batch, "script.ipynb")
    assert "&lt;script&gt;alert(" in page, "the student's HTML should be shown, escaped"
    assert "<script>alert(" not in page and "<img src=x" not in page


def test_limits_hold(batch):
    page = feedback(batch, "memory.ipynb")
    assert "ALLOC-PROBE refused" in page and "ALLOC-PROBE allocated" not in page and "MemoryError" in page
    page = feedback(batch, "flood.ipynb")
    assert "output beyond" in page and len(page) < 3_000_000


def leak_result(page: str) -> tuple[int, int]:
    m = re.search(r"LEAK-PROBE read (\d+) files; (\d+) hold hidden tests", page)
    assert m, "the leak probe did not run"
    return int(m.group(1)), int(m.group(2))


def test_hidden_tests_are_not_readable_by_student_code(batch):
    read, found = leak_result(feedback(batch, "leak.ipynb"))
    assert read > 100 and found == 0, f"read {read} files, {found} with hidden tests"
    for file in batch["rows"]:
        if batch["rows"][file]["feedback"]:
            assert HIDDEN not in feedback(batch, file), f"{file}: the feedback shows hidden tests"


def test_leak_probe_finds_hidden_tests_without_the_sandbox(tmp_path):
    """The probe above can fail: with --no-sandbox it does find the hidden tests."""
    subs = tmp_path / "submissions"
    write(leak_probe(tmp_path / "work", subs), subs / "mallory.ipynb")
    rows, _, _ = grade(subs, tmp_path / "gradebook.csv", "--no-sandbox", "--workdir", str(tmp_path / "work"))
    read, found = leak_result((tmp_path / rows["mallory.ipynb"]["feedback"]).read_text())
    assert found > 0, f"read {read} files, none with hidden tests"


def test_no_network(batch, listener):
    page = feedback(batch, "network.ipynb")
    port, address, accepted = listener
    for host in ("127.0.0.1", address):
        assert f"NET-PROBE {host} blocked" in page and f"NET-PROBE {host} reached" not in page, host
    socket.create_connection((address, port), timeout=3).close()  # the server does accept connections
    time.sleep(0.5)
    assert len(accepted) == 1, "only this test's own connection may arrive"


def test_wall_clock_limit_kills_everything(tmp_path):
    require_sandbox()
    subs = tmp_path / "submissions"
    write(solved(**{Q1: "import time\ntime.sleep(120)\n"}), subs / "sleeper.ipynb")
    work = tmp_path / "work"
    rows, seconds, _ = grade(subs, tmp_path / "gradebook.csv", "--time-limit", "20", "--cell-timeout", "100",
                             "--workdir", str(work))
    assert rows["sleeper.ipynb"]["status"].startswith("not graded: the time limit of 20 s")
    assert seconds < 90
    survivors = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(work).encode() in (proc / "cmdline").read_bytes():
                survivors.append(proc.name)
        except OSError:
            pass
    assert not survivors, f"processes of the killed submission survive: {survivors}"


def test_twenty_small_submissions_within_two_minutes(tmp_path):
    require_sandbox()
    subs = tmp_path / "submissions"
    for i in range(10):
        write(load(SOLUTIONS / f"{LOSSES}.ipynb"), subs / f"solver{i:02d}.ipynb")
        write(load(EXERCISES / f"{LOSSES}.ipynb"), subs / f"blank{i:02d}.ipynb")
    rows, seconds, output = grade(subs, tmp_path / "gradebook.csv")
    assert sum(r["status"] == "graded" for r in rows.values()) == 20, output
    print(f"\n20 submissions graded in {seconds:.1f} s on {os.cpu_count()} cores: {output.strip()}")
    assert seconds <= 120, output
