"""Writing into a computation's outputs (``ScheduledComputationArgs.outputs``), and recording what a run read.

A computation's ``outputs`` are locations it may write into, most often a pipeline's inbox (``{pipeline:
sensor-etl}``): every object written there starts that pipeline exactly as an upload does. The role may only
``s3:PutObject`` under each prefix (no read, no list, no delete), so :func:`write_output` is write-once without
reading back: a conditional put (``IfNoneMatch="*"``) that never replaces an object; when the key already exists
(a retried run) the existing object stays and the result says ``existed=True`` (its content cannot be compared
without a read grant). Every object carries ``sciflow-source: computation:<name>`` metadata, which the pipeline's
ingest records as the run's ``source``, plus the run id, business date and SHA-256.

:class:`RecordingS3` wraps the run's S3 client (``RunContext.s3_client``) and records the ``s3://`` URIs the
code read (``GetObject``) and wrote (``PutObject``); the run ledger keeps them (``inputs``/``outputs``).

Example
-------
>>> def compute(ctx):                                                              # doctest: +SKIP
...     ref = write_output(ctx, "regions.json", json.dumps(regions).encode())
...     return Result(summary={"written": ref.uri})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handlers.runtime import clients
from handlers.runtime.artifacts import checksum_sha256, sha256_hex
from handlers.runtime.errors import ArtifactNameError, SettingsError
from handlers.runtime.log import get_logger
from handlers.runtime.objects import is_conflict
from handlers.runtime.sdk import require_s3_conditional_writes

if TYPE_CHECKING:
    from handlers.runtime.scheduled import RunContext

SOURCE_METADATA = "sciflow-source"
"""The object metadata key (``x-amz-meta-sciflow-source``) naming who wrote an object: ``computation:<name>``."""
_MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class OutputRef:
    """One object written by :func:`write_output`; ``existed`` when the key was already there (left as is)."""

    bucket: str
    key: str
    sha256: str
    size: int
    existed: bool = False

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def output_key(prefix: str, folder: str, name: str) -> str:
    """``prefix + folder + name``, refusing names that would leave the prefix or are not keys.

    Example
    -------
    >>> output_key("incoming/", "fetcher/date=2026-03-01/", "regions.json")
    'incoming/fetcher/date=2026-03-01/regions.json'
    >>> output_key("incoming/", "", "../x.json")
    Traceback (most recent call last):
    ...
    handlers.runtime.errors.ArtifactNameError: InvalidArtifact: output name '../x.json' is not a relative key \
(no leading '/', no '.' or '..' segments, no control characters)
    """
    for part, what in ((folder, "folder"), (name, "name")):
        segments = part.split("/")
        bad = (part.startswith("/") or any(s in (".", "..") for s in segments)
               or any(ord(c) < 32 or ord(c) == 127 for c in part))
        if bad or (what == "name" and (not part or part.endswith("/"))) or (what == "folder" and part
                                                                          and not part.endswith("/")):
            raise ArtifactNameError(f"output {what} {part!r} is not a relative key (no leading '/', no '.' or '..' "
                                    "segments, no control characters" + (", ends with '/')" if what == "folder"
                                                                         else ")"))
    key = f"{prefix}{folder}{name}"
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise ArtifactNameError(f"output key {key[:60]!r}... is longer than S3's {_MAX_KEY_BYTES} bytes")
    return key


def write_output(ctx: RunContext, name: str, body: bytes | str, *, index: int = 0, folder: str | None = None,
                 content_type: str = "application/octet-stream") -> OutputRef:
    """Write ``body`` once into output ``index`` (``ctx.outputs[index]``) as ``<prefix><folder><name>``.

    ``folder`` defaults to ``<computation>/date=<business date>/``, so each run writes new keys (a new object
    starts the pipeline; the same key again is a retry). Pass ``folder=""`` to write directly under the prefix.

    Raises
    ------
    SettingsError
        the computation has no output ``index`` (declare it in ``outputs``).
    ArtifactNameError
        ``name``/``folder`` is not a relative key.
    """
    if not 0 <= index < len(ctx.outputs):
        raise SettingsError(f"output {index} is not declared: {ctx.computation} has {len(ctx.outputs)} output(s) "
                            "(add it to the computation's `outputs`)")
    location = ctx.outputs[index]
    if folder is None:
        folder = f"{ctx.computation}/date={ctx.business_date.isoformat()}/"
    key = output_key(location.prefix, folder, name)
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    digest = sha256_hex(data)
    client = ctx.s3_client
    if client is None:
        client = clients.client("s3")
    require_s3_conditional_writes(client)
    metadata = {SOURCE_METADATA: f"computation:{ctx.computation}", "run-id": ctx.run_id,
                "business-date": ctx.business_date.isoformat(), "sha256": digest}
    ref = OutputRef(location.bucket, key, digest, len(data))
    try:
        client.put_object(Bucket=location.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata,
                          IfNoneMatch="*", ChecksumSHA256=checksum_sha256(digest))
    except Exception as exc:
        if not is_conflict(exc):
            raise
        get_logger().warning("output already exists: left as is (write-once; the role may not read it back)",
                             extra={"uri": ref.uri})
        if isinstance(client, RecordingS3):
            _add(client.written, ref.uri)
        return OutputRef(location.bucket, key, digest, len(data), existed=True)
    return ref


class RecordingS3:
    """An S3 client that records the URIs read (successful ``get_object``) and written (``put_object``).

    Every other attribute is the wrapped client's, so code uses it as the client it is.

    Example
    -------
    >>> class Fake:
    ...     def get_object(self, **kw): return {"Body": b""}
    >>> s3 = RecordingS3(Fake()); _ = s3.get_object(Bucket="b", Key="k"); s3.read
    ['s3://b/k']
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.read: list[str] = []
        self.written: list[str] = []

    def get_object(self, **kwargs: Any) -> Any:
        response = self._client.get_object(**kwargs)
        _add(self.read, f"s3://{kwargs.get('Bucket')}/{kwargs.get('Key')}")
        return response

    def put_object(self, **kwargs: Any) -> Any:
        response = self._client.put_object(**kwargs)
        _add(self.written, f"s3://{kwargs.get('Bucket')}/{kwargs.get('Key')}")
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _add(uris: list[str], uri: str) -> None:
    if uri not in uris:
        uris.append(uri)


__all__ = ["SOURCE_METADATA", "OutputRef", "RecordingS3", "output_key", "write_output"]
