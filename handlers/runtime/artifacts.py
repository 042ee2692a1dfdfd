"""Write-once artifacts in S3: ``IfNoneMatch="*"`` puts, SHA-256 checksums, metadata, manifest last.

An :class:`ArtifactStore` writes under ``prefix + folder``. Each object carries its SHA-256 (as S3's
``ChecksumSHA256`` and as ``x-amz-meta-sha256``) plus caller metadata (run id, code hash). When the key
already exists, the existing object's SHA-256 is compared: equal content is accepted (an idempotent retry),
different content raises :class:`ArtifactConflictError` and nothing is overwritten. ``write_set`` writes a
whole named set and then ``manifest.json`` (names, keys, sizes, checksums), so a reader that sees a manifest
sees every object it lists. Generic: used by computations and ETL alike; needs ``s3:PutObject`` and
``s3:GetObject`` on the prefix (plus ``s3:ListBucket`` under an ``s3:prefix`` condition for :meth:`read_json` to
tell a missing object from a refused read).

Example
-------
>>> store = ArtifactStore("my-bucket", "daily-stats/")            # doctest: +SKIP
>>> store.write_set("date=2026-03-01/", {"stats.json": {"mean": 1.0}}, metadata={"run-id": "r1"})  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from handlers.runtime import clients
from handlers.runtime.cells import csv_bytes
from handlers.runtime.errors import ArtifactConflictError, ArtifactNameError
from handlers.runtime.objects import get_object_or_none, is_conflict, object_exists
from handlers.runtime.sdk import require_s3_conditional_writes

MANIFEST = "manifest.json"
PART_BYTES = 8 << 20
"""Multipart part size of :meth:`ArtifactStore.put_stream` (S3's minimum is 5 MiB, except the last part)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv", ".png": "image/png",
                  ".txt": "text/plain", ".parquet": "application/vnd.apache.parquet"}


@dataclass(frozen=True)
class ArtifactRef:
    """One stored object: ``existed`` is True when an identical object was already there."""

    name: str
    key: str
    sha256: str
    size: int
    content_type: str
    existed: bool = False

    def manifest_entry(self) -> dict[str, Any]:
        """The object's line in ``manifest.json`` (no ``existed`` flag: it is not content)."""
        entry = asdict(self)
        entry.pop("existed")
        return entry


def checksum_sha256(digest: str) -> str:
    """S3's ``ChecksumSHA256`` (base64 of the raw digest) for a hex SHA-256.

    Example
    -------
    >>> checksum_sha256(sha256_hex(b""))
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
    """
    return base64.b64encode(bytes.fromhex(digest)).decode()


def sha256_hex(body: bytes) -> str:
    """Hex SHA-256 of ``body``.

    Example
    -------
    >>> sha256_hex(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(body).hexdigest()


def serialize(name: str, value: Any) -> tuple[bytes, str]:
    """Turn an artifact value into ``(bytes, content_type)`` based on its type and ``name``'s extension.

    DataFrame → CSV (``name`` must end ``.csv``), dict/list → sorted, indented JSON (``.json``), matplotlib
    Figure → PNG rendered with the Agg backend (``.png``), ``bytes`` → as is, ``str`` → UTF-8. Duck-typed,
    so this module imports neither pandas nor matplotlib.

    Example
    -------
    >>> serialize("a.json", {"b": 1, "a": 2})
    (b'{\\n  "a": 2,\\n  "b": 1\\n}\\n', 'application/json')
    """
    if not _NAME.match(name) or name == MANIFEST:
        raise ArtifactNameError(f"artifact name {name!r} is invalid: use letters, digits, '.', '_' or '-' "
                                f"(no '/'), and not {MANIFEST!r}")
    ext = name[name.rfind("."):] if "." in name else ""
    content_type = _CONTENT_TYPES.get(ext, "application/octet-stream")

    def need(expected: str, kind: str) -> None:
        if ext != expected:
            raise ArtifactNameError(f"artifact {name!r} holds a {kind}: its name must end with {expected!r}")

    if isinstance(value, bytes | bytearray):
        return bytes(value), content_type
    if isinstance(value, str):
        return value.encode("utf-8"), content_type if ext else "text/plain"
    if isinstance(value, Mapping | list):
        need(".json", "JSON document")
        text = json.dumps(value, sort_keys=True, indent=2, default=_json_default, allow_nan=False)
        return (text + "\n").encode("utf-8"), content_type
    if hasattr(value, "to_csv") and hasattr(value, "columns"):
        need(".csv", "DataFrame")
        return csv_bytes(value), content_type
    if hasattr(value, "savefig") and hasattr(value, "canvas"):
        need(".png", "figure")
        return _figure_png(value), content_type
    raise ArtifactNameError(f"artifact {name!r} has unsupported type {type(value).__name__}: use a DataFrame, "
                            "dict/list, matplotlib Figure, bytes or str")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _figure_png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # attach an Agg canvas: no display, no global backend switch
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


class ArtifactStore:
    """Write-once objects under ``s3://bucket/prefix``.

    Parameters
    ----------
    bucket, prefix:
        where artifacts go; ``prefix`` is ``""`` or ends with ``/``.
    client:
        a boto3 S3 client; created lazily when ``None``.

    Example
    -------
    >>> store = ArtifactStore("bucket", "daily-stats/")
    >>> store.key("date=2026-03-01/", "stats.json")
    'daily-stats/date=2026-03-01/stats.json'
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("s3")
        return self._client

    def key(self, folder: str, name: str) -> str:
        """Full object key of ``name`` inside ``folder`` (a ``"date=YYYY-MM-DD/"``-style folder)."""
        return f"{self.prefix}{folder}{name}"

    def put_once(self, key: str, body: bytes, *, content_type: str = "application/octet-stream",
                 metadata: Mapping[str, str] | None = None, name: str | None = None) -> ArtifactRef:
        """Create ``key`` with ``body`` unless it exists; identical content is accepted, different raises.

        Example
        -------
        >>> ref = store.put_once("p/x.txt", b"hi", content_type="text/plain")  # doctest: +SKIP
        """
        require_s3_conditional_writes(self.client)
        digest = sha256_hex(body)
        meta = {**{k: str(v) for k, v in (metadata or {}).items()}, "sha256": digest}
        ref = ArtifactRef(name=name or key.rsplit("/", 1)[-1], key=key, sha256=digest, size=len(body),
                          content_type=content_type)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=meta,
                IfNoneMatch="*", ChecksumSHA256=checksum_sha256(digest),
            )
            return ref
        except self.client.exceptions.ClientError as exc:
            if not is_conflict(exc):
                raise
        return self._accept_existing(key, digest, len(body), ref.name, content_type)

    def existing_sha256(self, key: str) -> str:
        """SHA-256 of the stored object, computed from its body (metadata can be forged, bytes cannot), read in
        8 MiB chunks so any size fits in memory."""
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        try:
            for chunk in body.iter_chunks(PART_BYTES):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists (S3's 403 for a missing key is resolved by listing the key)."""
        return object_exists(self.client, self.bucket, key)

    def put_stream(self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream",
                   metadata: Mapping[str, str] | None = None, name: str | None = None) -> ArtifactRef:
        """Write-once upload of a body of any size from ``chunks`` (multipart, parts of :data:`PART_BYTES`).

        Memory holds one part. Completion is conditional (``IfNoneMatch="*"``); when ``key`` already exists the
        chunks are hashed instead of uploaded and must match the stored bytes (an idempotent retry), else
        :class:`ArtifactConflictError`. An upload that fails is aborted (no orphan parts).

        Example
        -------
        >>> store.put_stream("p/rows.csv", iter([b"a\\n", b"1\\n"]), content_type="text/csv")  # doctest: +SKIP
        """
        digest, size = hashlib.sha256(), 0
        if self.exists(key):
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
            return self._accept_existing(key, digest.hexdigest(), size, name, content_type)
        meta = {k: str(v) for k, v in (metadata or {}).items()}
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type,
                                                     Metadata=meta)["UploadId"]
        parts: list[dict[str, Any]] = []
        buffer = bytearray()

        def flush() -> None:
            number = len(parts) + 1
            etag = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=number,
                                           Body=bytes(buffer))["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
            buffer.clear()

        try:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= PART_BYTES:
                    flush()
            if buffer or not parts:
                flush()
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload={"Parts": parts}, IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            if not is_conflict(exc):
                raise
            return self._accept_existing(key, digest.hexdigest(), size, name, content_type)
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            raise
        return ArtifactRef(name=name or key.rsplit("/", 1)[-1], key=key, sha256=digest.hexdigest(), size=size,
                           content_type=content_type)

    def _accept_existing(self, key: str, digest: str, size: int, name: str | None,
                         content_type: str) -> ArtifactRef:
        existing = self.existing_sha256(key)
        if existing != digest:
            raise ArtifactConflictError(
                f"s3://{self.bucket}/{key} already exists with different content (sha256 {existing[:12]}… != "
                f"{digest[:12]}…); write-once artifacts are never overwritten")
        return ArtifactRef(name=name or key.rsplit("/", 1)[-1], key=key, sha256=digest, size=size,
                           content_type=content_type, existed=True)

    def read_json(self, key: str) -> Any | None:
        """Parse ``key`` as JSON; ``None`` when it does not exist (also when S3 says so with a 403, see
        :mod:`handlers.runtime.objects`)."""
        response = get_object_or_none(self.client, self.bucket, key)
        if response is None:
            return None
        return json.loads(response["Body"].read())

    def write_set(self, folder: str, artifacts: Mapping[str, Any], *, metadata: Mapping[str, str] | None = None,
                  manifest_extra: Mapping[str, Any] | None = None,
                  written: Sequence[ArtifactRef] = ()) -> tuple[list[ArtifactRef], str]:
        """Serialize and write every artifact, then ``manifest.json``; return the refs and the manifest key.

        All values are serialized before the first write, so a bad artifact writes nothing. ``written`` are
        objects of the set already stored (e.g. by :meth:`put_stream`); the manifest lists them too. An existing
        manifest is accepted only when it lists exactly the same objects and checksums.

        Example
        -------
        >>> refs, manifest = store.write_set("date=2026-03-01/", {"a.json": {}})  # doctest: +SKIP
        """
        payloads = [(name, *serialize(name, value)) for name, value in sorted(artifacts.items())]
        refs = [self.put_once(self.key(folder, name), body, content_type=ctype, metadata=metadata, name=name)
                for name, body, ctype in payloads]
        refs = sorted([*refs, *written], key=lambda ref: ref.name)
        entries = [ref.manifest_entry() for ref in refs]
        manifest_key = self.key(folder, MANIFEST)
        document = {"artifacts": entries, **dict(manifest_extra or {})}
        body = (json.dumps(document, sort_keys=True, indent=2, default=_json_default) + "\n").encode()
        try:
            self.put_once(manifest_key, body, content_type="application/json", metadata=metadata, name=MANIFEST)
        except ArtifactConflictError:
            existing = self.read_json(manifest_key) or {}
            if existing.get("artifacts") != entries:
                raise ArtifactConflictError(
                    f"s3://{self.bucket}/{manifest_key} already lists a different artifact set") from None
        return refs, manifest_key
