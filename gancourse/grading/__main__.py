"""Command line: generate the exercises, check they are current, grade submissions.

    python -m gancourse.grading generate            # solutions/ -> exercises/
    python -m gancourse.grading check               # exit 1 when exercises/ is out of date
    python -m gancourse.grading grade SUBMISSIONS --out gradebook.csv [--feedback DIR]
    python -m gancourse.grading probe               # can this machine run the sandbox?
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _source(arg: str | None) -> Path:
    from .assignments import default_source_dir

    path = Path(arg) if arg else default_source_dir()
    if path is None or not path.is_dir():
        sys.exit("no source notebooks: pass --source (the folder of nbgrader source notebooks, "
                 "solutions/ in the repository)")
    return path.resolve()


def _require_nbgrader() -> None:
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        sys.exit("the grading commands need nbgrader: pip install nbgrader "
                 "(or pip install 'gancourse[grading]'; requirements.txt has it)")


def main(argv: list[str] | None = None) -> int:
    _require_nbgrader()
    from .batch import GradeOptions
    from .isolation import Budget
    from .worker import skip_slow_imports

    skip_slow_imports()
    p = argparse.ArgumentParser(prog="python -m gancourse.grading", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("generate", "write exercises/ from the nbgrader source notebooks"),
                       ("check", "exit 1 when exercises/ differs from what generate would write")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--source", help="nbgrader source notebooks (default: the repository's solutions/)")
        s.add_argument("--out", help="exercise folder (default: exercises/ beside the source folder)")
    g = sub.add_parser("grade", help="grade a folder of submissions into a CSV gradebook",
                       formatter_class=argparse.RawDescriptionHelpFormatter, description="""\
Grade every notebook under SUBMISSIONS with nbgrader's autograde, each in its own sandboxed
process, and write a CSV gradebook and HTML feedback (one page per notebook).

Layouts: SUBMISSIONS/<student>.ipynb, or SUBMISSIONS/<student>/<any name>.ipynb (any depth);
symbolic links are not followed. The exercise is recognised from the notebook's content
(nbgrader grade ids, cell ids, metadata), so renamed files grade like the originals. status
is "graded" or "not graded: <reason>"; a notebook that is not graded has empty score cells,
never zeros. Each submission gets its own process, memory and CPU-time budget (a cgroup as
root; see --isolation). See book/instructors.md.""")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="the CSV gradebook to write")
    g.add_argument("--feedback", type=Path, help="HTML feedback folder (default: <out stem>-feedback/)")
    g.add_argument("--source", help="nbgrader source notebooks (default: the repository's solutions/)")
    g.add_argument("--jobs", "--parallel", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores, %(default)s)")
    g.add_argument("--isolation", choices=("auto", "cgroup", "uid", "none"), default="auto",
                   help="per-submission budgets: a cgroup per job, a user per concurrent job, or none "
                        "(default: the best this machine offers; cgroups and users need root)")
    g.add_argument("--shared-limits", action="store_true",
                   help="allow --jobs > 1 without per-submission isolation (one notebook can then make "
                        "others fail by holding processes or memory)")
    g.add_argument("--job-memory-mb", type=int, default=Budget.memory_mb,
                   help="resident memory of one submission, all its processes together (default: %(default)s)")
    g.add_argument("--job-cpu-seconds", type=int, default=Budget.cpu_seconds,
                   help="CPU time of one submission, all its processes together (default: %(default)s)")
    g.add_argument("--job-processes", type=int, default=Budget.pids,
                   help="processes and threads of one submission (default: %(default)s)")
    g.add_argument("--cell-timeout", type=int, default=GradeOptions.cell_timeout,
                   help="seconds one cell may run (default: %(default)s)")
    g.add_argument("--time-limit", type=int, default=GradeOptions.time_limit,
                   help="seconds one submission may take in all (default: %(default)s)")
    g.add_argument("--memory-mb", type=int, default=GradeOptions.memory_mb,
                   help="address-space limit per process, MB; importing torch maps about 3.2 GB "
                        "(default: %(default)s)")
    g.add_argument("--no-sandbox", action="store_true",
                   help="grade without namespaces (student code can then read files and use the network)")
    g.add_argument("--workdir", type=Path, help="keep the per-submission nbgrader folders here")
    sub.add_parser("probe", help="check that this machine can run the grading sandbox")
    args = p.parse_args(argv)

    if args.command in ("generate", "check"):
        from .assignments import generate

        source = _source(args.source)
        out = Path(args.out) if args.out else source.parent / "exercises"
        stale = generate(source, out, check=args.command == "check")
        if args.command == "check":
            if stale:
                print("out of date (run python -m gancourse.grading generate):", *stale, sep="\n  ")
                return 1
            print(f"{out} is up to date with {source}")
            return 0
        print(*(f"wrote {out / n}" for n in stale), sep="\n") if stale else print("nothing to do")
        return 0

    from . import sandbox

    if args.command == "probe":
        ok, text = sandbox.probe()
        print(("sandbox available: " if ok else "sandbox NOT available: ") + text)
        return 0 if ok else 1

    from .batch import grade_folder

    if not args.submissions.is_dir():
        sys.exit(f"{args.submissions} is not a folder")
    for name in ("jobs", "cell_timeout", "time_limit", "job_memory_mb", "job_cpu_seconds", "job_processes"):
        if getattr(args, name) < 1:
            sys.exit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.memory_mb < 0:
        sys.exit(f"--memory-mb must be 0 (no limit) or a positive number of MB, got {args.memory_mb}")
    if 0 < args.memory_mb < 4096:
        print(f"warning: --memory-mb {args.memory_mb} is small: importing torch alone maps about 3.2 GB, so "
              "kernels may die and notebooks come out 'not graded'", file=sys.stderr)
    out = args.out.resolve()
    opts = GradeOptions(source=_source(args.source), out=out,
                        feedback=(args.feedback or out.with_name(out.stem + "-feedback")).resolve(),
                        jobs=args.jobs, cell_timeout=args.cell_timeout, time_limit=args.time_limit,
                        memory_mb=args.memory_mb, sandbox=not args.no_sandbox,
                        workdir=args.workdir.resolve() if args.workdir else None,
                        isolation=args.isolation, shared_limits=args.shared_limits,
                        budget=Budget(pids=args.job_processes, memory_mb=args.job_memory_mb,
                                      cpu_seconds=args.job_cpu_seconds))
    try:
        grade_folder(args.submissions.resolve(), opts)
    except sandbox.SandboxError as err:
        sys.exit(f"the grading sandbox does not work on this machine:\n  {err}\nFix that (Linux, util-linux "
                 "`unshare`, root or unprivileged user namespaces), or pass --no-sandbox to grade without "
                 "isolation.")
    except RuntimeError as err:  # no per-submission isolation, and several jobs
        sys.exit(f"not grading: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
