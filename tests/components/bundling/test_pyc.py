"""The pyc compiler on its own: which docstrings are emptied and which stay."""

from __future__ import annotations

import marshal
import sys
import types
from pathlib import Path

from components.bundling.pyc import cache_path, compile_modules

SOURCE = '''"""module doc"""


class Dist:
    """class doc"""

    def cdf(self):
        """cdf doc"""

    class Inner:
        """inner doc"""


def outer():
    """outer doc"""

    def helper():
        """helper doc"""
    return helper
'''


def _docs(site: Path) -> dict[str, str | None]:
    code = marshal.loads(cache_path(site, "m.py", sys.version_info[:2]).read_bytes()[16:])
    found: dict[str, str | None] = {}

    def walk(obj: types.CodeType) -> None:
        consts = [c for c in obj.co_consts if isinstance(c, types.CodeType)]
        found[obj.co_qualname] = obj.co_consts[0] if obj.co_consts and isinstance(obj.co_consts[0], str) else None
        for child in consts:
            walk(child)

    walk(code)
    return found


def test_only_the_docstrings_read_at_import_stay(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    compiled, errors = compile_modules(sys.executable, tmp_path, ["m.py"], strip_docstrings_of=frozenset({"m.py"}),
                                       docstrings_read={"m.py": {"Dist.cdf", "outer.<locals>.helper", "<module>"}})
    assert (compiled, errors) == (1, [])
    docs = _docs(tmp_path)
    assert docs["Dist.cdf"] == "cdf doc" and docs["outer.<locals>.helper"] == "helper doc"
    assert docs["<module>"] == "module doc"
    assert docs["outer"] == ""
    data = cache_path(tmp_path, "m.py", sys.version_info[:2]).read_bytes()
    assert b"class doc" not in data and b"inner doc" not in data


def test_without_reads_every_docstring_is_emptied(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    compile_modules(sys.executable, tmp_path, ["m.py"], strip_docstrings_of=frozenset({"m.py"}))
    data = cache_path(tmp_path, "m.py", sys.version_info[:2]).read_bytes()
    assert not [doc for doc in (b"module doc", b"class doc", b"cdf doc", b"outer doc", b"helper doc") if doc in data]
