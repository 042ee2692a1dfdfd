"""Synthetic wheels and sdists for offline bundling tests (pip resolves them with --no-index --find-links)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from components.bundling import LayerSpec


def make_wheel(dest: Path, name: str, version: str, files: Mapping[str, str | bytes], *,
               requires: tuple[str, ...] = (), tag: str = "py3-none-any") -> Path:
    """Write ``<name>-<version>-<tag>.whl`` with ``files`` plus a valid dist-info (METADATA, WHEEL, RECORD)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    contents: dict[str, bytes] = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    contents[f"{info}/METADATA"] = meta.encode()
    contents[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    contents[f"{info}/top_level.txt"] = (dist + "\n").encode()
    contents[f"{info}/licenses/LICENSE"] = b"MIT\n"
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for path, data in sorted(contents.items()))
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, data in sorted(contents.items()):
            zinfo = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            zinfo.external_attr = (0o755 if arcname.endswith(".so") else 0o644) << 16
            zf.writestr(zinfo, data)
    return path


def make_sdist(dest: Path, name: str, version: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        data = f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n".encode()
        member = tarfile.TarInfo(f"{name}-{version}/setup.py")
        member.size = len(data)
        tf.addfile(member, io.BytesIO(data))
    return path


def standard_index(dest: Path) -> Path:
    """A find-links directory with a small dependency graph and the bad cases the tests need."""
    make_wheel(dest, "tinycalc", "1.0", {
        "tinycalc/__init__.py": '"""Tiny calculator: a long module docstring that the pyc leaves out."""\n'
                                "from tinycalc._core import add\n\n\ndef mul(a, b):\n"
                                '    """Multiply two numbers."""\n    return a * b\n',
        "tinycalc/_core.py": "import tinydep\n\n\ndef add(a, b):\n    return tinydep.ident(a) + b\n",
        "tinycalc/_core.pyi": "def add(a: int, b: int) -> int: ...\n",
        "tinycalc/tests/__init__.py": "",
        "tinycalc/tests/test_add.py": "def test_add():\n    assert True\n",
        "tinycalc/src/helper.c": "int main(void) { return 0; }\n",
    }, requires=("tinydep>=1", "urllib3"))
    make_wheel(dest, "tinydep", "1.0", {"tinydep/__init__.py": "def ident(x):\n    return x\n"})
    make_wheel(dest, "tinydep", "2.0", {"tinydep/__init__.py": "def ident(x):\n    return x\n"})
    make_wheel(dest, "urllib3", "9.9", {"urllib3/__init__.py": "VERSION = '9.9'\n"})
    make_wheel(dest, "pinsold", "1.0", {"pinsold/__init__.py": ""}, requires=("tinydep==1.0",))
    make_wheel(dest, "brokenimport", "1.0",
               {"brokenimport/__init__.py": "raise ImportError('brokenimport needs libfoo.so.3')\n"})
    # formats its API docs from docstrings at import, like seaborn (fails when docstrings are stripped)
    make_wheel(dest, "docneedy", "1.0", {
        "docneedy/__init__.py": "from docneedy._params import PARAMS\n",
        "docneedy/_params.py": 'def _template():\n    """hue: the grouping variable"""\n\n\n'
                               'PARAMS = dict([_template.__doc__.split(": ")])\n',
    })
    # assembles its class docs through pydoc.getdoc at import, like scipy.stats: works with emptied docstrings,
    # but pydoc then parses the module's source for comments on every call
    make_wheel(dest, "docread", "1.0", {
        "docread/__init__.py": "import pydoc\n\n\nclass Dist:\n"
                               "    \"\"\"A distribution: its docs are assembled.\"\"\"\n\n"
                               "    def cdf(self):\n        \"\"\"Cumulative distribution function.\"\"\"\n\n"
                               "    def pdf(self):\n"
                               "        \"\"\"Probability density, never read at import.\"\"\"\n\n\n"
                               "DOCS = [pydoc.getdoc(Dist), pydoc.getdoc(Dist.cdf)]\n",
    })
    make_sdist(dest, "sdistonly", "1.0")
    return dest


def offline_spec(index: Path, *requirements: str, **kwargs: object) -> LayerSpec:
    return LayerSpec(requirements=tuple(requirements), no_index=True, find_links=(str(index),),
                     **kwargs)  # type: ignore[arg-type]
