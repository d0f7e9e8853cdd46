"""Per-submission resource budgets: each graded notebook gets its own process count,
memory and CPU time, so that one hostile notebook cannot change another's result.

:func:`choose` picks, once per batch, the best mechanism this machine offers:

- ``cgroup2``: a cgroup v2 per job (``pids.max``, ``memory.max`` with no swap,
  ``cpu.max`` of one core), when the unified hierarchy has those controllers and the
  grader may create groups (root);
- ``cgroup1``: one group per job in each of the v1 ``pids``, ``memory`` (+ ``memsw``),
  ``cpu`` and ``cpuacct`` hierarchies (the same budgets);
- ``uid``: no usable cgroups but root: each concurrent job's kernel runs as its own user
  with ``RLIMIT_NPROC`` (processes per job) and ``RLIMIT_CPU`` (per process); memory
  is then only bounded per process (``RLIMIT_AS``);
- ``none``: not root: kernels share the grader's user, so process, memory and CPU
  budgets are not per job. :mod:`gancourse.grading.batch` refuses to grade several
  notebooks at once in this mode unless the instructor allows it.

With a cgroup the grading process (nbgrader, then the kernel it starts, then anything
student code starts) joins the job's groups before it runs anything, the grader polls
the job's CPU time and kills the job past its budget, and every group is emptied (its
processes killed) and removed when the job ends, also when it was killed; groups left
by a grader that was itself killed are removed by the next run.

This module does not start kernels and does not decide grades.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Budget", "Isolation", "Job", "choose", "JOB_UID_BASE"]

PREFIX = "gancourse-grading-"
JOB_UID_BASE = 1_900_000_000  # kernel users of concurrent jobs (unused by ordinary systems)
NOBODY = 65534
_V1 = ("pids", "memory", "cpu", "cpuacct")

# Run by /bin/sh before the grading process: protect the grader from the OOM killer (the
# kernel launcher sets its own score back to 0), join the job's groups, then exec.
_JOIN = ('echo -900 > /proc/self/oom_score_adj 2>/dev/null; '
         'for f in $GANCOURSE_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"')


@dataclass
class Budget:
    """What one submission may use in all (its grading process and everything it starts)."""

    pids: int = 512            # processes and threads
    memory_mb: int = 4096      # resident memory (and swap) of all of them
    cpu_seconds: int = 600     # CPU time of all of them
    cores: float = 1.0         # CPU bandwidth (cgroups only)


def _mountinfo() -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    found = []
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) >= 5 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
                found.append((fields[4], rest[0], rest[2]))
    except OSError:
        pass
    return found


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path."""
    out = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    except (OSError, ValueError):
        pass
    return out


def _write(path: Path, value) -> None:
    path.write_text(str(value))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Job:
    """One submission's budget: the command wrapper and, with cgroups, the groups."""

    def __init__(self, isolation: "Isolation", name: str, slot: int, budget: Budget):
        self.isolation, self.budget, self.slot = isolation, budget, slot
        self.dirs: list[Path] = []
        self.uid = NOBODY if isolation.kind == "none" else JOB_UID_BASE + slot
        if isolation.kind.startswith("cgroup"):
            try:
                self._create(name)
            except BaseException:
                self.remove()
                raise

    # ------------------------------------------------------------------ setup
    def _create(self, name: str) -> None:
        b = self.budget
        if self.isolation.kind == "cgroup2":
            d = self.isolation.parents[""] / name
            d.mkdir()
            self.dirs = [d]
            _write(d / "pids.max", b.pids)
            _write(d / "memory.max", b.memory_mb * 2**20)
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", 0)
            _write(d / "cpu.max", f"{int(100_000 * b.cores)} 100000")
            return
        for c in _V1:
            d = self.isolation.parents[c] / name
            d.mkdir()
            self.dirs.append(d)
        pids, memory, cpu, _ = self.dirs
        _write(pids / "pids.max", b.pids)
        _write(memory / "memory.limit_in_bytes", b.memory_mb * 2**20)
        if (memory / "memory.memsw.limit_in_bytes").exists():
            _write(memory / "memory.memsw.limit_in_bytes", b.memory_mb * 2**20)
        _write(cpu / "cpu.cfs_period_us", 100_000)
        _write(cpu / "cpu.cfs_quota_us", int(100_000 * b.cores))

    def wrap(self, argv: list[str], env: dict) -> list[str]:
        """``argv`` made to join this job's groups first (env gets the variable it reads)."""
        if not self.dirs:
            return list(argv)
        env["GANCOURSE_CGROUP_PROCS"] = " ".join(str(d / "cgroup.procs") for d in self.dirs)
        return ["/bin/sh", "-c", _JOIN, "gancourse-job", *argv]

    def kernel_limits(self, jobs: int) -> dict:
        """Settings for :func:`gancourse.grading.sandbox.kernel_config`: the kernel's user,
        its ``RLIMIT_NPROC`` and its per-process ``RLIMIT_CPU``."""
        if self.isolation.kind == "none":  # one user for every kernel: a shared cap
            return {"uid": self.uid, "nproc": 128 * (jobs + 1), "cpu_seconds": self.budget.cpu_seconds}
        return {"uid": self.uid, "nproc": self.budget.pids, "cpu_seconds": self.budget.cpu_seconds}

    # ------------------------------------------------------------------ while it runs
    def cpu_seconds(self) -> float | None:
        """CPU time of every process of the job so far (None without a cgroup)."""
        try:
            if self.isolation.kind == "cgroup2":
                for line in (self.dirs[0] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec"):
                        return int(line.split()[1]) / 1e6
            elif self.isolation.kind == "cgroup1":
                return int((self.dirs[3] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError, IndexError):
            pass
        return None

    def oom_kills(self) -> int:
        """Processes of the job the kernel killed for going over the memory budget."""
        try:
            if self.isolation.kind == "cgroup2":
                text = (self.dirs[0] / "memory.events").read_text()
            elif self.isolation.kind == "cgroup1":
                text = (self.dirs[1] / "memory.oom_control").read_text()
            else:
                return 0
            for line in text.splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def memory_peak_mb(self) -> float | None:
        try:
            if self.isolation.kind == "cgroup2" and (self.dirs[0] / "memory.peak").exists():
                return int((self.dirs[0] / "memory.peak").read_text()) / 2**20
            if self.isolation.kind == "cgroup1":
                return int((self.dirs[1] / "memory.max_usage_in_bytes").read_text()) / 2**20
        except (OSError, ValueError, IndexError):
            pass
        return None

    # ------------------------------------------------------------------ teardown
    def _procs(self) -> list[int]:
        pids = set()
        for d in self.dirs:
            try:
                pids.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(pids)

    def kill(self, timeout: float = 10.0) -> None:
        """Kill every process of the job (repeatedly: a fork loop may be running)."""
        if not self.dirs:
            return
        kill_file = self.dirs[0] / "cgroup.kill"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            procs = self._procs()
            if not procs:
                return
            if self.isolation.kind == "cgroup2" and kill_file.exists():
                try:
                    _write(kill_file, 1)
                except OSError:
                    pass
            for pid in procs:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and remove the groups (always called, also after a kill)."""
        self.kill()
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.02)
        self.dirs = []


class Isolation:
    """The mechanism chosen for a batch (``kind``), why, and the parent groups."""

    def __init__(self, kind: str, why: str, parents: dict | None = None):
        self.kind, self.why, self.parents = kind, why, parents or {}
        self._serial = 0

    @property
    def per_job(self) -> bool:
        return self.kind != "none"

    def job(self, slot: int, budget: Budget) -> Job:
        self._serial += 1
        return Job(self, f"{PREFIX}{os.getpid()}-{self._serial}", slot, budget)

    def describe(self) -> str:
        return {"cgroup2": "a cgroup (v2) per submission", "cgroup1": "cgroups (v1) per submission",
                "uid": "a user per concurrent submission (no usable cgroups)",
                "none": "no per-submission isolation"}[self.kind]


def _remove_stale(parent: Path) -> None:
    """Groups of graders that no longer run (killed before they could clean up)."""
    try:
        entries = list(parent.glob(PREFIX + "*"))
    except OSError:
        return
    for d in entries:
        try:
            owner = int(d.name[len(PREFIX):].split("-")[0])
        except ValueError:
            continue
        if owner != os.getpid() and not _alive(owner):
            _remove_stale(d)  # a v2 batch group holds its jobs' groups
            stale = Job.__new__(Job)
            stale.isolation = Isolation("cgroup2" if (d / "cgroup.kill").exists() else "cgroup1", "")
            stale.dirs = [d]
            stale.remove()


def _try_v2(mounts, own) -> Isolation | None:
    for point, fstype, _ in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        base = Path(point) / own[""].lstrip("/")
        try:
            available = set((base / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        if not {"pids", "memory", "cpu"} <= available:
            continue
        parent = base / f"{PREFIX}{os.getpid()}"
        try:
            enabled = set((base / "cgroup.subtree_control").read_text().split())
            if not {"pids", "memory", "cpu"} <= enabled:
                _write(base / "cgroup.subtree_control", "+pids +memory +cpu")
            parent.mkdir(exist_ok=True)
            _write(parent / "cgroup.subtree_control", "+pids +memory +cpu")
        except OSError:
            try:
                parent.rmdir()
            except OSError:
                pass
            continue
        _remove_stale(base)
        return Isolation("cgroup2", f"cgroup v2 at {base}", {"": parent, "_owned": [parent]})
    return None


def _try_v1(mounts, own) -> Isolation | None:
    parents = {}
    for controller in _V1:
        for point, fstype, options in mounts:
            if fstype == "cgroup" and controller in options.split(",") and controller in own:
                parents[controller] = Path(point) / own[controller].lstrip("/")
                break
    if set(parents) != set(_V1):
        return None
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = []
    try:
        for d in parents.values():
            (d / probe).mkdir()
            made.append(d / probe)
    except OSError:
        return None
    finally:
        for d in made:
            try:
                d.rmdir()
            except OSError:
                pass
    for d in parents.values():
        _remove_stale(d)
    return Isolation("cgroup1", "cgroup v1 (" + ", ".join(f"{c}: {d}" for c, d in parents.items()) + ")", parents)


def choose(requested: str = "auto") -> Isolation:
    """The best per-job isolation this machine offers (or ``requested``: cgroup, uid, none)."""
    if requested == "none":
        return Isolation("none", "turned off (--isolation none)")
    if os.geteuid() != 0:
        if requested != "auto":
            raise RuntimeError(f"--isolation {requested} needs root")
        return Isolation("none", "the grader is not root: it can neither create cgroups nor give each "
                                 "kernel its own user, so all kernels share one user's process limit, "
                                 "and memory and CPU time are limited per process, not per submission")
    if requested in ("auto", "cgroup"):
        mounts, own = _mountinfo(), _own_paths()
        found = _try_v2(mounts, own) or _try_v1(mounts, own)
        if found:
            return found
        if requested == "cgroup":
            raise RuntimeError("no usable cgroup hierarchy (v2 with pids, memory and cpu, or v1 pids, memory, "
                               "cpu and cpuacct) on this machine")
    return Isolation("uid", "no usable cgroups: each concurrent kernel runs as its own user with RLIMIT_NPROC; "
                            "memory and CPU time are limited per process")


def release(isolation: Isolation) -> None:
    """Remove the batch's parent group (cgroup v2)."""
    for d in isolation.parents.get("_owned", []):
        try:
            d.rmdir()
        except OSError:
            pass
