"""The zip Pulumi would upload for a Lambda ``code`` archive or an S3 object ``source`` (deterministic bytes)."""

from __future__ import annotations

import base64
import io
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi

_EPOCH = (1980, 1, 1, 0, 0, 0)


class ArchiveError(RuntimeError):
    """An archive cannot be read; the message names the resource."""


def archive_bytes(archive: Any, *, what: str) -> bytes:
    """The zip Pulumi would upload for ``archive`` (a zip ``FileArchive``, a directory, or an ``AssetArchive``)."""
    if isinstance(archive, pulumi.FileArchive):
        path = Path(str(archive.path))
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise ArchiveError(f"{what}: {path} is not a zip file (only zip archives are supported)")
            return path.read_bytes()
        if path.is_dir():
            return _zip_entries(_dir_entries(path, ""))
        raise ArchiveError(f"{what}: archive path {path} does not exist (cwd {os.getcwd()})")
    if isinstance(archive, pulumi.AssetArchive):
        return _zip_entries(_asset_entries(archive.assets, "", what))
    raise ArchiveError(f"{what}: unsupported code archive {archive!r}")


def asset_bytes(inputs: Mapping[str, Any], what: str) -> bytes:
    """The body of an S3 object declared with ``source`` (asset or archive), ``content`` or ``contentBase64``."""
    source = inputs.get("source")
    if isinstance(source, pulumi.FileAsset):
        return Path(str(source.path)).read_bytes()
    if isinstance(source, pulumi.StringAsset):
        return str(source.text).encode()
    if isinstance(source, pulumi.FileArchive | pulumi.AssetArchive):
        return archive_bytes(source, what=what)
    if inputs.get("content") is not None:
        return str(inputs["content"]).encode()
    if inputs.get("contentBase64") is not None:
        return base64.b64decode(str(inputs["contentBase64"]))
    return b""


def _dir_entries(root: Path, prefix: str) -> Iterator[tuple[str, bytes]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for filename in sorted(filenames):
            if filename.endswith(".pyc"):
                continue
            path = Path(dirpath) / filename
            yield f"{prefix}{path.relative_to(root).as_posix()}", path.read_bytes()


def _asset_entries(assets: Mapping[str, Any], prefix: str, what: str) -> Iterator[tuple[str, bytes]]:
    for name, asset in sorted(assets.items()):
        if isinstance(asset, pulumi.FileAsset):
            yield f"{prefix}{name}", Path(str(asset.path)).read_bytes()
        elif isinstance(asset, pulumi.StringAsset):
            yield f"{prefix}{name}", str(asset.text).encode()
        elif isinstance(asset, pulumi.FileArchive) and Path(str(asset.path)).is_dir():
            yield from _dir_entries(Path(str(asset.path)), f"{prefix}{name}/")
        elif isinstance(asset, pulumi.AssetArchive):
            yield from _asset_entries(asset.assets, f"{prefix}{name}/", what)
        else:
            raise ArchiveError(f"{what}: unsupported archive member {name!r}: {asset!r}")


def _zip_entries(entries: Iterator[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
