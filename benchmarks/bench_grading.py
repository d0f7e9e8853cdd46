"""Time the grading command on a class of ordinary notebooks.

    python benchmarks/bench_grading.py --students 40 [--jobs 2] [--json out.json]

It writes a folder of ``--students`` hand-ins of the 05_losses exercise (half the solution,
half the unmodified exercise), grades it with ``python -m gancourse.grading grade`` and
prints the wall-clock time, the CPU time of the whole run (the grader and every process it
waited for, as the kernel counts them) and both per notebook, with the machine's load
average before and after (CPU seconds are much less affected by other jobs than wall time).
It does not check grades; tests/test_grading.py does.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--exercise", default="05_losses")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gancourse-bench-grading-"))
    try:
        subs = tmp / "submissions"
        subs.mkdir()
        for i in range(args.students):
            folder = "solutions" if i % 2 == 0 else "exercises"
            shutil.copy(ROOT / folder / f"{args.exercise}.ipynb", subs / f"student{i:03d}.ipynb")
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "gancourse.grading", "grade", str(subs), "--out",
                               str(tmp / "gradebook.csv"), "--jobs", str(args.jobs)],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
            return 1
        with open(tmp / "gradebook.csv", newline="") as f:
            graded = sum(r["status"] == "graded" for r in csv.DictReader(f))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        n = args.students
        result = {"students": n, "graded": graded, "jobs": args.jobs, "wall_s": round(wall, 1),
                  "wall_per_notebook_s": round(wall / n, 2), "cpu_s": round(cpu, 1),
                  "cpu_per_notebook_s": round(cpu / n, 2), "load_before": [round(x, 2) for x in load_before],
                  "load_after": [round(x, 2) for x in load_after], "cores": os.cpu_count(),
                  "grader_log": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""}
        print(json.dumps(result, indent=1))
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
        return 0 if graded == n else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
