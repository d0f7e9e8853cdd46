"""Re-execute notebooks in place with their committed parameters, and stamp them.

The built book shows the committed outputs, so this is how outputs are refreshed:

    python scripts/execute_notebooks.py                    # every notebook in book/ and solutions/
    python scripts/execute_notebooks.py book/02_*.ipynb    # some of them
    python scripts/execute_notebooks.py --smoke            # smoke parameters, to a temp folder (a dry run)
    python scripts/execute_notebooks.py --out DIR          # full parameters, to DIR (the GPU suite)

Each executed notebook gets `metadata.gancourse` = {code_hash, device, seconds, torch};
the tests check that the hash still matches the code, so stale outputs fail CI.
Exercise notebooks keep no outputs (students start from a clean page).
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbtools


def device_name() -> str:
    """The device the notebooks pick by default, in the words of the model cards."""
    from gancourse.utils import describe_device, resolve_device

    return describe_device(resolve_device("auto"))


def execute(path: Path, out: Path, parameters: dict | None = None) -> float:
    import papermill as pm

    t0 = time.perf_counter()
    pm.execute_notebook(str(path), str(out), parameters=parameters or {}, cwd=str(path.parent),
                        kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False,
                        store_widget_state=False)  # the book renders the widgets' static HTML
    return time.perf_counter() - t0


def stamp(path: Path, seconds: float) -> None:
    import torch

    nb = nbtools.load(path)
    nb["metadata"]["gancourse"] = {"code_hash": nbtools.code_hash(nb), "device": device_name(),
                                   "seconds": round(seconds, 1), "torch": torch.__version__}
    nbtools.save(nb, path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--smoke", action="store_true", help="use the smoke parameters; write to a temp folder")
    p.add_argument("--out", type=Path, help="write executed copies here instead of updating in place")
    args = p.parse_args()
    # A non-interactive backend (MPLBACKEND=Agg) would leave the committed pages without figures.
    os.environ.pop("MPLBACKEND", None)
    paths = [x.resolve() for x in args.paths] or nbtools.notebooks(("book", "solutions"))
    smoke = nbtools.smoke_parameters() if args.smoke else {}
    out_dir = args.out or (Path(tempfile.mkdtemp(prefix="gancourse-nb-")) if args.smoke else None)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    total = 0.0
    print(f"{'notebook':45s} {'seconds':>8s}   device")
    for path in paths:
        rel = str(path.relative_to(nbtools.ROOT))
        # In place: execute into a scratch copy, and replace the notebook only when every cell ran.
        out = out_dir / path.name if out_dir else Path(tempfile.mkdtemp(prefix="gancourse-nb-")) / path.name
        try:
            seconds = execute(path, out, smoke.get(rel, {}) if args.smoke else None)
        except Exception:
            print(f"{rel} failed and was left as it was; the executed copy, with the error, is {out}",
                  file=sys.stderr)
            raise
        total += seconds
        if not out_dir:
            stamp(out, seconds)
            path.write_bytes(out.read_bytes())
            shutil.rmtree(out.parent)
        print(f"{rel:45s} {seconds:8.1f}   {device_name()}", flush=True)
    print(f"{'total':45s} {total:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
