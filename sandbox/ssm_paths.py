"""Parameter Store path listings at AWS's speed: a sorted name index for moto's ``GetParametersByPath``.

moto answers each ``GetParametersByPath`` page by scanning every parameter name of the region (``ParameterDict.
get_keys_beginning_with``). Once the public ``/aws/service/global-infrastructure`` tree is loaded that is ~20,000
names a page, ~65 ms, and reading which service runs in which region takes ~1,000 pages (a minute of a demo). This
patch keeps a sorted copy of the names, dropped whenever a name is added or removed, and finds a path's children by
bisection; an unfiltered page resolves only its own parameters (moto resolves every child for every page, so a
listing of n children cost n²/10). Answers are moto's; children come in name order (AWS's order for these
listings), except under the root path ``/``, which keeps moto's scan.

Example
-------
>>> install(); uninstall()
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

_INDEX = "_sciflow_sorted_names"
_ORIGINAL: dict[str, Any] = {}


def _invalidating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.__dict__.pop(_INDEX, None)
        return method(self, *args, **kwargs)
    return wrapper


def _keys_beginning_with(self: Any, path: str, recursive: bool) -> Iterator[str]:
    if path == "/":
        yield from _ORIGINAL["get_keys_beginning_with"](self, path, recursive)
        return
    self._check_loading_status(path)
    names = self.__dict__.get(_INDEX)
    if names is None:
        names = sorted(dict.keys(self))
        self.__dict__[_INDEX] = names
    for name in names[bisect.bisect_left(names, path):]:
        if not name.startswith(path):
            break
        if recursive or "/" not in name[len(path) + 1:]:
            yield name


def _parameters_by_path(self: Any, path: str, recursive: bool, filters: Any = None, next_token: str | None = None,
                        max_results: int = 10) -> Any:
    original = _ORIGINAL["get_parameters_by_path"]
    if filters or path.rstrip("/") == "" or int(max_results) > 10:  # moto's own validation and filters
        return original(self, path, recursive, filters, next_token, max_results)
    names = list(self._parameters.get_keys_beginning_with(path.rstrip("/") + "/", recursive))
    start, size = int(next_token or "0"), int(max_results)
    page = [self.get_parameter(name) for name in names[start:start + size]]
    return page, (str(start + size) if len(page) == size else None)  # moto's token rule, kept


def install() -> None:
    """Patch ``moto.ssm.models.ParameterDict`` (idempotent)."""
    from moto.ssm.models import ParameterDict, SimpleSystemManagerBackend

    if _ORIGINAL:
        return
    _ORIGINAL["get_parameters_by_path"] = SimpleSystemManagerBackend.__dict__["get_parameters_by_path"]
    SimpleSystemManagerBackend.get_parameters_by_path = _parameters_by_path  # type: ignore[method-assign]
    _ORIGINAL["get_keys_beginning_with"] = ParameterDict.__dict__["get_keys_beginning_with"]
    for name in ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update", "setdefault"):
        _ORIGINAL[name] = ParameterDict.__dict__.get(name)
        setattr(ParameterDict, name, _invalidating(getattr(defaultdict, name)))
    ParameterDict.get_keys_beginning_with = _keys_beginning_with  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo :func:`install`."""
    from moto.ssm.models import ParameterDict, SimpleSystemManagerBackend

    for name, method in _ORIGINAL.items():
        if name == "get_parameters_by_path":
            SimpleSystemManagerBackend.get_parameters_by_path = method  # type: ignore[method-assign]
        elif method is None:
            delattr(ParameterDict, name)
        else:
            setattr(ParameterDict, name, method)
    _ORIGINAL.clear()
