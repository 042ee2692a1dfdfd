"""Reading S3 objects that may not exist, the way real S3 answers.

S3 reports a missing key as ``404 NoSuchKey`` (``NoSuchVersion`` for a missing version) only when the caller
may ``s3:ListBucket`` the bucket *without conditions*; otherwise it answers ``403 AccessDenied``, exactly as it
does for a key the caller may not read. sciflow's roles get ``s3:ListBucket`` only under an ``s3:prefix``
condition (their own prefixes), which a ``GetObject`` never carries, so a missing object usually arrives as
``AccessDenied``. :func:`get_object_or_none` tells the two apart without widening any grant: on
``AccessDenied`` it lists the exact key (``ListObjectsV2`` with ``Prefix=key``, which carries ``s3:prefix`` and
so is allowed by the prefix-scoped grant). Not listed means missing; listed (or the listing is denied too)
means a real permission problem, raised as :class:`ObjectAccessDenied` naming the object and what to grant.

Example
-------
>>> get_object_or_none(s3, "bucket", "staging/run/part-00000.result.json")          # doctest: +SKIP
None
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.runtime.errors import SciflowError

MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})
"""A conditional write (``IfNoneMatch="*"``) found the key already there, or raced another write to it."""


class ObjectAccessDenied(SciflowError):
    """S3 refused a read of an object that exists (or whose existence the role may not learn)."""

    code = "ObjectAccessDenied"


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ``ClientError`` (``"NoSuchKey"``, ``"AccessDenied"`` ...), else ``None``.

    Example
    -------
    >>> error_code(ValueError("x")) is None
    True
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = (response.get("Error") or {}).get("Code")
    return str(code) if code is not None else None


def is_missing(exc: BaseException) -> bool:
    """True for S3's "no such key/version" answers (the 404 family)."""
    return error_code(exc) in MISSING_CODES


def is_conflict(exc: BaseException) -> bool:
    """True when a write-once put (``IfNoneMatch="*"``) lost to an existing object (the 412 family)."""
    return error_code(exc) in CONFLICT_CODES


def object_listed(s3: Any, bucket: str, key: str) -> bool:
    """Whether ``key`` exists, by listing exactly that prefix (needs ``s3:ListBucket`` for ``s3:prefix=key``)."""
    response = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item.get("Key") == key for item in response.get("Contents", []))


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """``HeadObject``, with S3's 403-for-missing resolved the same way as :func:`get_object_or_none`."""
    answer = _read(s3, bucket, key, lambda: s3.head_object(Bucket=bucket, Key=key),
                   "; grant s3:ListBucket with an s3:prefix condition covering the key")
    return answer.found or answer.denied is not None


def get_object_or_none(s3: Any, bucket: str, key: str, **kwargs: Any) -> dict[str, Any] | None:
    """``s3.get_object(Bucket=bucket, Key=key, **kwargs)``, or ``None`` when the object does not exist.

    Raises
    ------
    ObjectAccessDenied
        S3 answered ``AccessDenied`` and the object exists, or the role may not list its key either.
    botocore.exceptions.ClientError
        Any other S3 error, unchanged.
    """
    answer = _read(s3, bucket, key, lambda: s3.get_object(Bucket=bucket, Key=key, **kwargs),
                   ", so a missing object cannot be told from a refused read; grant s3:ListBucket on the bucket "
                   "with an s3:prefix condition covering the key (and s3:GetObject on it)")
    if answer.found:
        return dict(answer.value)
    if answer.denied is None:
        return None
    if "VersionId" not in kwargs:
        raise ObjectAccessDenied(f"s3://{bucket}/{key} exists but the read was denied (check s3:GetObject on "
                                 "the key and kms:Decrypt on the bucket's key)") from answer.denied
    # the key exists; the version may not: only ListBucketVersions could tell, so say both
    raise ObjectAccessDenied(f"s3://{bucket}/{key} version {kwargs['VersionId']}: AccessDenied (the version "
                             "was deleted, or s3:GetObjectVersion/kms:Decrypt is missing)") from answer.denied


@dataclass(frozen=True)
class _Answer:
    """What a read of one key found: its result, nothing (missing), or an ``AccessDenied`` for a listed key."""

    value: Any = None
    found: bool = False
    denied: BaseException | None = None


def _read(s3: Any, bucket: str, key: str, read: Callable[[], Any], listing_denied: str) -> _Answer:
    """``read()``; on ``AccessDenied``, list the exact key to tell a missing object from a refused read.
    ``listing_denied`` ends the message when the listing is refused too."""
    try:
        return _Answer(read(), found=True)
    except Exception as exc:
        if is_missing(exc):
            return _Answer()
        if error_code(exc) not in DENIED_CODES:
            raise
        denied = exc
    try:
        listed = object_listed(s3, bucket, key)
    except Exception as exc:
        if error_code(exc) not in DENIED_CODES:
            raise
        raise ObjectAccessDenied(f"s3://{bucket}/{key}: AccessDenied, and listing the key is denied too"
                                 f"{listing_denied}") from denied
    return _Answer(denied=denied if listed else None)
