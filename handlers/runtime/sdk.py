"""Startup check of the AWS SDK the handlers run with.

Every artifact write is an S3 conditional put (``IfNoneMatch="*"``), which botocore knows from 1.35.0
(August 2024). The Lambda runtime bundles a botocore of AWS's choosing; the stack's runtime layer ships a
pinned one. With an older botocore every write would fail with a confusing parameter-validation error, so
:func:`require_s3_conditional_writes` fails first (before a run's first write), naming the version found.

Example
-------
>>> require_s3_conditional_writes(boto3.client("s3"))                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from handlers.runtime.errors import SciflowError

CONDITIONAL_WRITES_SINCE = "1.35.0"
_CHECKED: set[int] = set()


class SdkTooOld(SciflowError):
    """The botocore in use lacks a feature the handlers need."""

    code = "SdkTooOld"


def botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


def require_s3_conditional_writes(client: Any) -> None:
    """Raise :class:`SdkTooOld` unless ``client``'s PutObject accepts ``IfNoneMatch`` (checked once per client).

    The check reads the client's own service model, so it is right for whatever botocore (or stand-in)
    created the client, and costs nothing after the first call.
    """
    if id(client) in _CHECKED:
        return
    members = client.meta.service_model.operation_model("PutObject").input_shape.members
    if "IfNoneMatch" not in members:
        raise SdkTooOld(
            f"botocore {botocore_version()} has no IfNoneMatch on S3 PutObject; write-once artifacts need "
            f"botocore >= {CONDITIONAL_WRITES_SINCE}. Attach the stack's runtime layer (it ships a pinned "
            "boto3/botocore) or pin boto3 in a layer of your own")
    _CHECKED.add(id(client))
