"""The runtime's own AWS SDK: a directory holding only the pinned boto3 stack, as Lambda's ``/var/runtime``.

Lambda's Python runtime ships boto3 and its dependencies (botocore, s3transfer, jmespath, python-dateutil,
six, urllib3) outside the function's code and layers, *after* them on ``sys.path``. :func:`sdk_dir` builds
that directory once per process from the distributions installed here (pinned in constraints.txt): one
symlink per top-level module listed in each distribution's RECORD, and nothing else, so a worker sees no other
host package (once a worker has imported a single-file module such as ``six``, Python's ``__pycache__`` sits
beside the links).

Example
-------
>>> sorted(p.name for p in sdk_dir().iterdir() if p.name != "__pycache__")[:3]
['boto3', 'botocore', 'dateutil']
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

# What Lambda's Python runtime provides besides the standard library (its boto3 and that SDK's dependencies)
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


def top_level_entries(distribution: str) -> set[Path]:
    """Absolute paths of the top-level packages/modules a distribution installed."""
    dist = metadata.distribution(distribution)
    entries: set[Path] = set()
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info")) or parts[0] in ("..", "__pycache__"):
            continue
        if len(parts) == 1 and not parts[0].endswith(".py"):
            continue
        entries.add(Path(str(dist.locate_file(parts[0]))))
    return entries


@functools.lru_cache(maxsize=1)
def sdk_dir() -> Path:
    """The runtime SDK directory (built once per process under a private temp dir, removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix="sciflow-runtime-sdk-"))
    atexit.register(shutil.rmtree, root, True)
    for distribution in RUNTIME_DISTRIBUTIONS:
        for entry in top_level_entries(distribution):
            link = root / entry.name
            if not link.exists():
                link.symlink_to(entry, target_is_directory=entry.is_dir())
    return root


def sdk_versions() -> dict[str, str]:
    """Distribution -> version of the runtime SDK (for reports)."""
    return {name: metadata.version(name) for name in RUNTIME_DISTRIBUTIONS}
