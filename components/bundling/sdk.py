"""A pinned AWS SDK in a layer, without the models of services the handlers never call.

Lambda's Python runtimes bundle a boto3/botocore of AWS's choosing, which may lack features handlers rely on
(S3 conditional writes, ``IfNoneMatch``, need botocore >= 1.35). A layer that ships boto3/botocore pins them;
botocore's service models are about 19 MB of its 21 MB, so :func:`prune_service_models` keeps only the
services a layer names (plus everything that is not a per-service model: endpoints, partitions, retry and
default configuration).

Example
-------
>>> prune_service_models(site, ("s3", "dynamodb"))                        # doctest: +SKIP
'sdk: kept the botocore models of dynamodb, s3; removed 412 others (18.9 MB)'
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from components.bundling.errors import LayerBuildError

MODEL_DIRS = ("botocore/data", "boto3/data")
"""Where botocore keeps one directory per service (``<service>/<api-version>/service-2.json.gz``) and boto3
its resource models."""


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def prune_service_models(site: Path, services: Sequence[str]) -> str:
    """Remove every per-service model directory except ``services``; return a one-line note.

    Raises
    ------
    LayerBuildError
        When the layer ships no botocore, or a named service has no model (a typo would otherwise leave the
        handlers without the client they need).
    """
    data = site / MODEL_DIRS[0]
    if not data.is_dir():
        raise LayerBuildError("sdk_services: the layer ships no botocore (add boto3 to its requirements and set "
                              "include_runtime_packages)", reason="bad-option")
    keep = {s.strip() for s in services}
    known = {p.name for p in data.iterdir() if p.is_dir()}
    unknown = sorted(keep - known)
    if unknown:
        raise LayerBuildError(f"sdk_services: {', '.join(unknown)} not among botocore's {len(known)} service models "
                              "(names are botocore's, e.g. s3, dynamodb, stepfunctions)", reason="bad-option")
    removed = 0
    freed = 0
    for folder in MODEL_DIRS:
        root = site / folder
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if path.is_dir() and path.name not in keep:
                freed += _tree_bytes(path)
                shutil.rmtree(path)
                removed += 1
    return (f"sdk: kept the botocore models of {', '.join(sorted(keep))}; removed {removed} others "
            f"({freed / 1e6:.1f} MB)")
