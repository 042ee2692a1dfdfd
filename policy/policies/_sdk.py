"""Facts about AWS resource types taken from the pulumi-aws SDK: type aliases and which types take ``tags``.

The pack must not import ``pulumi_aws`` (the CLI runs it in its own small virtualenv), so the facts are
generated from the installed SDK into ``aws_types.json`` beside this module and read from there:

    python -m policy.policies._sdk            # regenerate after a pulumi-aws upgrade
    python -m policy.policies._sdk --check    # exit 1 when the file is stale (run by the tests)

- ``aliases``: every type token a resource declares as an alias (``aws:s3/bucketV2:BucketV2`` for
  ``aws:s3/bucket:Bucket``, ``aws:s3/bucketAclV2:BucketAclV2`` for ``BucketAcl`` ...), mapped to the current
  token, so a policy on a type also sees programs written against the deprecated or older types.
- ``taggable``: every resource type (current and alias) whose inputs include ``tags``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("aws_types.json")
_TAGS = '__props__.__dict__["tags"] = tags'


def generate() -> dict[str, Any]:
    """Scan the installed pulumi_aws package (source files only; nothing is imported) with the engine's reader
    (:mod:`synth.schema`, imported here only: the pack itself never needs it)."""
    from synth.schema import sdk_aliases, sdk_modules

    modules = sdk_modules("aws")
    if not modules:
        raise RuntimeError("pulumi_aws is not installed")
    tokens = {token for token, _ in modules}
    taggable = {token for token, text in modules if _TAGS in text}
    aliases = dict(sdk_aliases("aws"))
    taggable |= {a for a, t in aliases.items() if t in taggable and a in tokens}
    version = _version()
    return {"pulumi_aws": version, "aliases": dict(sorted(aliases.items())), "taggable": sorted(taggable)}


def _version() -> str:
    from importlib.metadata import version

    return version("pulumi_aws")


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def canonical(resource_type: str) -> str:
    """The current type token for an alias (the token itself otherwise)."""
    return str(_data()["aliases"].get(resource_type, resource_type))


@functools.cache
def aliases_of(resource_type: str) -> tuple[str, ...]:
    return tuple(sorted(a for a, t in _data()["aliases"].items() if t == resource_type))


def with_aliases(types: Iterable[str]) -> tuple[str, ...]:
    """``types`` plus every alias of each of them, in a stable order."""
    out: list[str] = []
    for t in types:
        for name in (t, *aliases_of(t)):
            if name not in out:
                out.append(name)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def taggable_types() -> frozenset[str]:
    return frozenset(_data()["taggable"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.policies._sdk", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if aws_types.json is out of date")
    args = parser.parse_args(argv)
    text = json.dumps(generate(), indent=0, sort_keys=True) + "\n"
    if args.check:
        if not DATA.exists() or DATA.read_text(encoding="utf-8") != text:
            print(f"{DATA} is out of date: run python -m policy.policies._sdk", file=sys.stderr)
            return 1
        return 0
    DATA.write_text(text, encoding="utf-8")
    print(f"wrote {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
