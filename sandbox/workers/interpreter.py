"""Which local Python runs a function's workers: the interpreter of its configured runtime, never a stand-in.

A ``python3.12`` function runs on a local CPython 3.12, found the way layer builds find one
(:func:`components.bundling.interpreters.find_interpreter`: ``python3.12`` on ``PATH``, pyenv's
``versions/3.12.*``, uv-managed Pythons, a ``py`` launcher). When none is installed the function cannot run
here: :func:`worker_python` raises :class:`RuntimeUnavailable` naming the runtime, where it looked and how to
install one, and the embedded AWS fails the function's deploy with that message rather than running the code on
the host's Python.

Example
-------
>>> worker_python(f"python{sys.version_info[0]}.{sys.version_info[1]}") == sys.executable
True
>>> worker_python("nodejs20.x")
Traceback (most recent call last):
...
sandbox.workers.interpreter.RuntimeUnavailable: runtime nodejs20.x: the embedded AWS runs Python runtimes only
"""

from __future__ import annotations

import re
import sys

from components.bundling.interpreters import find_interpreter, search_summary

_PYTHON_RUNTIME = re.compile(r"python(\d+)\.(\d+)")


class RuntimeUnavailable(RuntimeError):
    """No local interpreter for a function's runtime (the message says how to install one)."""


def runtime_version(runtime: str) -> tuple[int, int] | None:
    """``"python3.12"`` -> ``(3, 12)``; ``None`` for a non-Python runtime."""
    match = _PYTHON_RUNTIME.fullmatch(runtime)
    return (int(match.group(1)), int(match.group(2))) if match else None


def worker_python(runtime: str) -> str:
    """The interpreter that runs ``runtime``'s workers: this one when the versions match, else a discovered one.

    Raises
    ------
    RuntimeUnavailable
        For a non-Python runtime, or when no local CPython of the runtime's version exists.
    """
    version = runtime_version(runtime)
    if version is None:
        raise RuntimeUnavailable(f"runtime {runtime}: the embedded AWS runs Python runtimes only")
    if version == sys.version_info[:2]:
        return sys.executable
    found = find_interpreter(version)
    if found is None:
        raise RuntimeUnavailable(f"runtime {runtime}: {search_summary(version)}, or set the function's runtime to "
                                 f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return found.path
