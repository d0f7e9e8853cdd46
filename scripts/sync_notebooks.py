"""Make every notebook's first cell the current "Running this notebook" cell, point its
Colab links at the configured repository, and give it Colab's GPU metadata. Run it after
changing `repository.url` in _config.yml, and after changing the version in pyproject.toml:
the cell installs the release tagged ``v<version>`` (see README, "Colab and releases").

    python scripts/sync_notebooks.py          # rewrite the notebooks
    python scripts/sync_notebooks.py --check  # exit 1 if any notebook is out of date
"""
import argparse
import re
import subprocess
import sys

import nbtools

COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/")


def colab_prefix() -> str:
    url, branch = nbtools.repository()
    return f"https://colab.research.google.com/github/{url.split('github.com/', 1)[-1]}/blob/{branch}/"


def sync(nb: dict) -> bool:
    changed = False
    cells = nb["cells"]
    cell = nbtools.setup_cell()
    if cells and nbtools.SETUP_TAG in cells[0].get("metadata", {}).get("tags", []):
        old = cells[0]
        src = nbtools.cell_source(old)
        managed = {k: old["metadata"].get(k) for k in cell["metadata"]}
        if src != cell["source"] or managed != cell["metadata"]:
            # keep what papermill and Jupyter add (execution times, outputs); own the rest.
            # The source keeps its form (executed notebooks hold a list of lines).
            old["source"] = (cell["source"].splitlines(keepends=True) if isinstance(old["source"], list)
                             else cell["source"])
            old["metadata"].update(cell["metadata"])
            changed = True
    else:
        cells.insert(0, cell)
        changed = True
    # Links to other notebooks in Colab (e.g. a chapter's exercises) follow repository.url too.
    prefix = colab_prefix()
    for c in cells:
        if c["cell_type"] == "markdown":
            src = nbtools.cell_source(c)
            new = COLAB_LINK.sub(prefix, src)
            if new != src:
                c["source"] = new
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
    if not args.check:
        warn_if_untagged()
    return 0


def warn_if_untagged() -> None:
    """Say so when the release the cells install has no git tag here yet (Colab would fail)."""
    tag = nbtools.release_tag()
    try:
        found = subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], cwd=nbtools.ROOT,
                               capture_output=True).returncode == 0
    except OSError:  # no git: nothing to check
        return
    if not found:
        print(f"note: the set-up cells install {tag}, which is not tagged in this repository yet; after "
              f"committing, tag the release and push the tag:\n  git tag {tag} && git push origin {tag}",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
