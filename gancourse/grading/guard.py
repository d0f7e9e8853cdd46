"""The integrity check that runs inside a grading kernel, around every test cell.

Student code and the hidden tests share one Python process (nbgrader's design), so an
answer cell can try to change what the tests rely on: patch a torch method through an
alias, replace the check helpers or ``importlib.reload``, add an IPython input or AST
transformer that rewrites the test cells, install a custom exception handler that
swallows failures, set a trace function, or rebind ``torch`` to a fake module.

The grader (:mod:`gancourse.grading.worker`) runs :func:`snapshot` as an invisible cell
before the first cell of the submission, when only the grader's code has run, and
:func:`report` as an invisible cell right before and right after each test cell. The
snapshot records the identity of every attribute of the watched modules and classes
(``builtins``, ``math``, ``importlib``, torch, ``torch.Tensor``, ``torch.nn.Module``,
IPython's shell, kernel and session classes ...), the code of the check helpers (the
tests reload them, so by content), IPython's transformer lists, event callbacks and
exception handlers, trace and profile functions, import hooks, torch's function-mode
stack and the running Python threads. :func:`report` prints one line that carries the
grader's nonce and every difference; the worker turns any difference, or a missing
line, into "not graded: tampering", never into a score.

What this cannot do, in-process: code that finds this module's snapshot in memory and
rewrites it, or that recognises the report cell and forges its line, defeats it. Such
code needs deliberate work with introspection (``gc``, frames, ``get_ipython``...), which
the review in :func:`gancourse.grading.assignments.review` reports.

This module imports torch and IPython only when the grader calls it inside a kernel.
"""
from __future__ import annotations

import os
import sys

__all__ = ["snapshot", "report", "TAG"]

TAG = "GANCOURSE-GUARD"

# Modules whose every attribute must keep its identity. "strict": no attribute may be
# added either (an addition to a class shadows its base's method).
_MODULES = ["builtins", "math", "importlib", "importlib.util", "importlib.machinery",
            "importlib._bootstrap", "importlib._bootstrap_external", "torch", "torch.nn",
            "torch.nn.functional", "torch.autograd", "torch.linalg", "torch.random",
            "gancourse", "gancourse.grading", "numpy"]
_STRICT_MODULES = {"builtins", "math", "importlib", "importlib.util", "importlib._bootstrap",
                   "importlib._bootstrap_external"}
_OPEN_MODULES = {"gancourse", "gancourse.grading", "numpy"}  # additions allowed (lazy attributes)
_SYS_MODULES = [*_MODULES, "gancourse.grading.checks", "gancourse.grading.guard", "sys", "inspect"]
_CHECKS = "gancourse.grading.checks"
_MODULE_NAMES = {"torch": "torch", "math": "math", "F": "torch.nn.functional", "nn": "torch.nn",
                 "np": "numpy", "importlib": "importlib", "checks": _CHECKS}

# Event callbacks these packages register (matplotlib's inline backend) are not the notebook's.
_LIBRARIES = ("IPython.", "ipykernel.", "matplotlib_inline.", "matplotlib.")

# ipykernel replaces these for every execution (to forward stdin); tests never use them.
_KERNEL_BUILTINS = {"_", "input", "raw_input", "getpass"}

_SNAP: dict = {}


def _classes(shell) -> list:
    import importlib._bootstrap_external as ext

    import torch

    found = [torch.Tensor, torch.nn.Module, torch.nn.Parameter, torch.autograd.Function,
             ext.SourceFileLoader, ext.FileLoader, ext.SourceLoader, type(sys.modules[__name__].__spec__)]
    for obj in _instances(shell).values():
        found += [c for c in type(obj).__mro__ if c.__module__ not in ("builtins",)]
    unique = []
    for c in found:
        if c not in unique:
            unique.append(c)
    return unique


def _instances(shell) -> dict:
    if shell is None:
        return {}
    out = {"the IPython shell": shell, "the compiler": shell.compile, "the traceback printer": shell.InteractiveTB,
           "the display hook": shell.displayhook, "the display publisher": shell.display_pub,
           "the input transformer manager": shell.input_transformer_manager, "the event manager": shell.events,
           "the builtin trap": shell.builtin_trap}
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        out["the kernel"] = kernel
        out["the kernel session"] = kernel.session
    return {k: v for k, v in out.items() if v is not None}


def _code_key(code) -> tuple:
    consts = tuple(_code_key(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts)
    return code.co_code, consts, code.co_names


def _module_state(mod) -> dict:
    return dict(vars(mod))


def _checks_state(mod) -> dict:
    """The check helpers by content: the tests reload the module, which makes new function,
    spec and loader objects with the same code, origin and loader class."""
    state = {}
    for name, value in vars(mod).items():
        code = getattr(value, "__code__", None)
        if code is not None:
            state[name] = ("code", _code_key(code), getattr(value, "__defaults__", None))
        elif type(value).__name__ == "module":
            state[name] = ("module", id(value))
        elif name in ("__spec__", "__loader__"):
            loader = getattr(value, "loader", value)
            state[name] = (type(loader), getattr(loader, "path", None), getattr(value, "origin", None))
        elif name == "__builtins__":
            state[name] = ("id", id(value))
        else:
            try:
                state[name] = ("value", repr(value))
            except Exception:
                state[name] = ("id", id(value))
    return state


def _lists(shell) -> dict:
    out = {}
    if shell is not None:
        for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            out[f"IPython's {name}"] = tuple(map(id, getattr(shell, name)))
        tm = shell.input_transformer_manager
        for name in ("cleanup_transforms", "line_transforms", "token_transformers"):
            out[f"IPython's input_transformer_manager.{name}"] = tuple(map(id, getattr(tm, name, ())))
        out["IPython's event callbacks"] = tuple(sorted(
            (event, id(cb)) for event, cbs in shell.events.callbacks.items() for cb in cbs
            if not (getattr(cb, "__module__", None) or type(cb).__module__ or "").startswith(_LIBRARIES)))
        out["IPython's custom exception handler"] = (tuple(map(id, shell.custom_exceptions)), id(shell.CustomTB))
        out["the IPython shell's compiler"] = id(shell.compile)
        out["the IPython shell's exception printer"] = id(shell.InteractiveTB)
        out["the user namespace"] = id(shell.user_ns)
    import threading

    import torch

    out["the trace function (sys.settrace)"] = id(sys.gettrace())
    out["the profile function (sys.setprofile)"] = id(sys.getprofile())
    out["threading's trace/profile hooks"] = (id(getattr(threading, "_trace_hook", None)),
                                              id(getattr(threading, "_profile_hook", None)))
    out["the import hooks (sys.meta_path)"] = tuple(map(id, sys.meta_path))
    out["the path hooks (sys.path_hooks)"] = tuple(map(id, sys.path_hooks))
    out["sys.modules"] = tuple((n, id(sys.modules.get(n))) for n in _SYS_MODULES)
    out["torch's function and dispatch modes"] = (_call(torch._C, "_len_torch_function_stack"),
                                                 _call(torch._C, "_len_torch_dispatch_stack"),
                                                 _call(torch._C, "_is_torch_function_mode_enabled"))
    out["the threads started by the notebook"] = tuple(sorted(
        t.ident or 0 for t in threading.enumerate() if _from_notebook(t)))
    import signal

    out["signal handlers"] = tuple(id(signal.getsignal(s)) for s in
                                   (signal.SIGALRM, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2))
    return out


def _torch_wrapper(new, old) -> bool:
    """torch's own wrapping of one of its functions (importing ``torch._dynamo`` replaces
    ``torch.manual_seed`` by a wrapper of it defined in ``torch/_compile.py``)."""
    import torch

    code = getattr(new, "__code__", None)
    folder = os.path.dirname(torch.__file__) + os.sep
    return getattr(new, "__wrapped__", None) is old and code is not None and code.co_filename.startswith(folder)


def _from_notebook(thread) -> bool:
    """A thread running code defined in the notebook (a library's helper threads are not)."""
    parts = [thread, getattr(thread, "_target", None), getattr(thread, "function", None)]
    return any((getattr(p, "__module__", None) or type(p).__module__) == "__main__" for p in parts if p is not None)


def _call(obj, name):
    fn = getattr(obj, name, None)
    try:
        return fn() if fn is not None else None
    except Exception:
        return None


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def snapshot(nonce: str) -> None:
    """Record the state the tests rely on (run before any student code); print the nonce."""
    import importlib
    import importlib.machinery  # noqa: F401
    import importlib.util  # noqa: F401
    import math  # noqa: F401

    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401

    import gancourse.grading.checks  # noqa: F401

    for name in ("numpy", "torch.linalg", "torch.random"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    shell = _shell()
    _SNAP.clear()
    _SNAP["modules"] = {n: (sys.modules[n], _module_state(sys.modules[n])) for n in _MODULES if n in sys.modules}
    _SNAP["checks"] = _checks_state(sys.modules[_CHECKS])
    _SNAP["classes"] = {c: dict(vars(c)) for c in _classes(shell)}
    _SNAP["instances"] = {k: (v, {a: x for a, x in vars(v).items() if callable(x)} if hasattr(v, "__dict__") else {})
                          for k, v in _instances(shell).items()}
    _SNAP["lists"] = _lists(shell)
    _SNAP["keep"] = [sys.gettrace(), sys.getprofile(), list(sys.meta_path), list(sys.path_hooks)]  # ids stay unique
    print(f"{TAG} {nonce} snapshot", flush=True)


def _name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def differences(names: list[str] | None = None) -> list[str]:
    """What changed since :func:`snapshot` (empty: nothing the tests rely on was touched)."""
    if not _SNAP:
        return ["the snapshot was not taken"]
    found = []
    for modname, (mod, before) in _SNAP["modules"].items():
        now = vars(mod)
        for key, value in before.items():
            if key not in now:
                found.append(f"{modname}.{key} was deleted")
            elif now[key] is not value and not (modname == "builtins" and key in _KERNEL_BUILTINS) \
                    and not _torch_wrapper(now[key], value):
                found.append(f"{modname}.{key} was replaced")
        for key in now.keys() - before.keys():
            value = now[key]
            submodule = type(value).__name__ == "module" and getattr(value, "__name__", "").startswith(modname + ".")
            if modname in _STRICT_MODULES and not (modname == "builtins" and key in ("_", "__", "___")):
                found.append(f"{modname}.{key} was added")
            elif not submodule and not key.startswith("__") and modname not in _OPEN_MODULES:
                found.append(f"{modname}.{key} was added")
    checks = sys.modules.get(_CHECKS)
    if checks is None:
        found.append(f"{_CHECKS} was removed from sys.modules")
    else:
        now = _checks_state(checks)
        for key in sorted(now.keys() | _SNAP["checks"].keys()):
            if now.get(key) != _SNAP["checks"].get(key):
                found.append(f"checks.{key} was changed")
    for cls, before in _SNAP["classes"].items():
        now = vars(cls)
        for key in sorted(before.keys() | now.keys()):
            if key in ("__abstractmethods__", "_abc_impl"):
                continue
            if before.get(key, _MISSING) is not now.get(key, _MISSING):
                found.append(f"{_name(cls)}.{key} was {'added' if key not in before else 'replaced'}")
    for label, (obj, before) in _SNAP["instances"].items():
        now = vars(obj) if hasattr(obj, "__dict__") else {}
        for key, value in before.items():
            if now.get(key) is not value:
                found.append(f"{label}: {key} was replaced")
        for key in now.keys() - before.keys():
            if callable(now[key]) and hasattr(type(obj), key):
                found.append(f"{label}: {key} was overridden")
    lists = _lists(_shell())
    for key, before in _SNAP["lists"].items():
        if lists.get(key) != before:
            found.append(f"{key} changed")
    shell = _shell()
    for name in names or []:
        if shell is None or name not in shell.user_ns or name not in _MODULE_NAMES:
            continue
        value, real = shell.user_ns[name], sys.modules.get(_MODULE_NAMES[name])
        if value is not real:
            found.append(f"the name {name!r} the tests use is not the module {_MODULE_NAMES[name]}")
    return found


_MISSING = object()


def report(nonce: str, names: list[str] | None = None) -> None:
    """Print ``TAG nonce ok`` or ``TAG nonce tampered: ...`` (read by the worker)."""
    import json

    try:
        found = differences(names)
    except Exception as err:  # a check that cannot run is itself a finding
        found = [f"the integrity check failed: {type(err).__name__}: {err}"]
    print(f"{TAG} {nonce} " + ("ok" if not found else "tampered " + json.dumps(found[:20])), flush=True)
