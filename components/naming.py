"""Explicit physical names, scoped by project and stack so two stacks coexist in one account and region.

Most sciflow resources are auto-named by Pulumi (``<logical>-<random>``), which never collides. A few AWS
resources need a name the program chooses (KMS aliases, layer names, the dashboard); every such name comes
from :func:`scoped_name`, so ``dev`` and ``prod`` of the same project in one account never ask for the same
name. Names longer than the service allows keep their start and end in a short hash of the full name, so
truncation cannot make two names equal.

Example
-------
>>> scoped_name("sciflow", "dev", "scientific")
'sciflow-dev-scientific'
>>> kms_alias_name("sciflow", "prod", "daily-stats")
'alias/sciflow/prod/daily-stats'
"""

from __future__ import annotations

import hashlib
import re

_HASH_LEN = 8


def _fit(text: str, max_len: int) -> str:
    """``text`` when it fits; else its first characters, ``-`` and 8 hex digits of its sha256."""
    if len(text) <= max_len:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_LEN]
    return f"{text[: max_len - _HASH_LEN - 1]}-{digest}"


def scoped_name(project: str, stack: str, *parts: str, max_len: int = 64, allowed: str = r"A-Za-z0-9_-",
                sep: str = "-") -> str:
    """``<project>-<stack>-<part>...`` with characters outside ``allowed`` replaced by ``-``.

    Parameters
    ----------
    project, stack:
        ``pulumi.get_project()`` / ``pulumi.get_stack()``: the scope every explicit name carries.
    parts:
        The resource's own name (component name, role).
    max_len, allowed:
        The service's limit and character class (a regex class body), e.g. Lambda layer names: 140,
        ``A-Za-z0-9_-``.

    Example
    -------
    >>> scoped_name("sciflow", "prod.eu", "plotting")
    'sciflow-prod-eu-plotting'
    >>> len(scoped_name("sciflow", "dev", "x" * 200, max_len=140))
    140
    """
    if not project or not stack:
        raise ValueError("scoped_name: project and stack are required")
    raw = sep.join([project, stack, *parts])
    return _fit(re.sub(f"[^{allowed}]", "-", raw), max_len)


def kms_alias_name(project: str, stack: str, name: str) -> str:
    """``alias/<project>/<stack>/<name>``: KMS alias names are unique per account and region (up to 256
    characters of ``A-Za-z0-9/_-``, never starting with ``alias/aws/``).

    Example
    -------
    >>> kms_alias_name("sciflow", "dev", "sensor-etl")
    'alias/sciflow/dev/sensor-etl'
    """
    return "alias/" + scoped_name(project, stack, name, sep="/", max_len=256 - len("alias/"),
                                  allowed=r"A-Za-z0-9/_-")
