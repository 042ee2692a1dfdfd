"""What a provider's Python SDK says about a type token: its class and the output properties it declares.

``aws:s3/bucketPolicy:BucketPolicy`` -> ``pulumi_aws.s3.BucketPolicy`` -> ``{"bucket", "policy", "region"}``.
The generated SDK marks every output property with ``@pulumi.getter(name="camelCase")``; reading those names
is how the generic mock answer knows which outputs a type has (``name``? ``arn``? ``dashboardName``?) without
a per-type table. Nothing here imports a provider the program did not import already.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any

#: how a generated SDK class names its type token, and the older tokens it answers to
TYPE_TOKEN = re.compile(r'@pulumi\.type_token\("([^"]+)"\)')
ALIAS = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')


def split_token(token: str) -> tuple[str, str, str]:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ``("aws", "s3", "BucketPolicy")``; ``aws:index/x:X`` -> index."""
    package, _, rest = token.partition(":")
    module, _, name = rest.rpartition(":")
    return package, module.split("/", 1)[0], name


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


@functools.lru_cache(maxsize=1024)
def sdk_class(token: str) -> Any:
    """The SDK class (resource) or function (data source) for ``token``, or ``None`` when unknown."""
    package, module, name = split_token(token)
    root = f"pulumi_{package.replace('-', '_')}"
    if root not in sys.modules:  # only providers the program imported
        return None
    candidates = [module, f"{module}_"] if module != "index" else [""]
    for candidate in candidates:
        try:
            mod = importlib.import_module(f"{root}.{candidate}" if candidate else root)
        except ImportError:
            continue
        found = getattr(mod, name, None) or getattr(mod, _snake(name), None)
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=1024)
def output_names(token: str) -> frozenset[str] | None:
    """The camelCase output properties a resource type declares; ``None`` when the type is unknown."""
    cls = sdk_class(token)
    return _getter_names(cls) if inspect.isclass(cls) else None


@functools.lru_cache(maxsize=1024)
def result_names(token: str) -> frozenset[str] | None:
    """The camelCase fields of a data source's result type (``getBucket`` -> ``GetBucketResult``)."""
    name = split_token(token)[2]
    fn = sdk_class(token)
    mod = sys.modules.get(getattr(fn, "__module__", "") or "")
    result = getattr(mod, name[:1].upper() + name[1:] + "Result", None) if mod else None
    return _getter_names(result) if inspect.isclass(result) else None


def sdk_modules(package: str = "aws") -> list[tuple[str, str]]:
    """``(type token, source)`` of every resource module of the installed provider SDK, read as text (nothing
    is imported); empty when the SDK is not installed."""
    spec = importlib.util.find_spec(f"pulumi_{package.replace('-', '_')}")
    if spec is None or not spec.submodule_search_locations:
        return []
    out = []
    for path in sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        match = TYPE_TOKEN.search(text)
        if match is not None and "__props__" in text:
            out.append((match.group(1), text))
    return out


@functools.lru_cache(maxsize=8)
def sdk_aliases(package: str = "aws") -> dict[str, str]:
    """Alias token -> current token, from the SDK's own ``pulumi.Alias`` declarations
    (``aws:s3/bucketV2:BucketV2`` -> ``aws:s3/bucket:Bucket``)."""
    aliases: dict[str, str] = {}
    for token, text in sdk_modules(package):
        for alias in ALIAS.findall(text):
            if alias != token:
                aliases.setdefault(alias, token)
    return aliases


def canonical(token: str) -> str:
    """The current type token for a deprecated or older alias (the token itself otherwise)."""
    return sdk_aliases(split_token(token)[0]).get(token, token)


def _getter_names(cls: type) -> frozenset[str]:
    """The camelCase names of a generated class's ``@pulumi.getter`` properties."""
    names = {getattr(prop.fget, "_pulumi_name", None)
             for _, prop in inspect.getmembers(cls, lambda m: isinstance(m, property))}
    return frozenset(str(n) for n in names if n)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
