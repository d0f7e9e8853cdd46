"""Make every notebook's first cell the current "Running this notebook" cell and give
it Colab's GPU metadata. Run it after changing `repository.url` in _config.yml.

    python scripts/sync_notebooks.py          # rewrite the notebooks
    python scripts/sync_notebooks.py --check  # exit 1 if any notebook is out of date
"""
import argparse
import sys

import nbtools


def sync(nb: dict) -> bool:
    changed = False
    cells = nb["cells"]
    cell = nbtools.setup_cell()
    if cells and nbtools.SETUP_TAG in cells[0].get("metadata", {}).get("tags", []):
        old = cells[0]
        src = old["source"] if isinstance(old["source"], str) else "".join(old["source"])
        if src != cell["source"] or old["metadata"] != cell["metadata"]:
            cells[0] = {**cell, "execution_count": old.get("execution_count"), "outputs": old.get("outputs", [])}
            changed = True
    else:
        cells.insert(0, cell)
        changed = True
    for k, v in nbtools.COLAB_METADATA.items():
        if nb["metadata"].get(k) != v:
            nb["metadata"][k] = v
            changed = True
    return changed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    stale = []
    for path in nbtools.notebooks():
        nb = nbtools.load(path)
        if sync(nb):
            stale.append(path.relative_to(nbtools.ROOT))
            if not args.check:
                nbtools.save(nb, path)
    if args.check and stale:
        print("out of date (run python scripts/sync_notebooks.py):", *stale, sep="\n  ")
        return 1
    for s in stale:
        print("updated", s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
