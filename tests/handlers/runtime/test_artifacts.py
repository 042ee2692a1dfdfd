"""handlers.runtime.artifacts: serialization and write-once storage in S3 (moto)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from handlers.runtime.artifacts import ArtifactStore, serialize, sha256_hex
from handlers.runtime.errors import ArtifactConflictError, ArtifactNameError
from tests.support.runtime import BUCKET, Aws


def test_dict_becomes_sorted_json() -> None:
    body, content_type = serialize("s.json", {"b": 1, "a": [1.5]})
    assert json.loads(body) == {"a": [1.5], "b": 1}
    assert body.index(b'"a"') < body.index(b'"b"') and content_type == "application/json"


def test_dataframe_becomes_csv_without_index() -> None:
    body, content_type = serialize("d.csv", pd.DataFrame({"x": [1, 2]}))
    assert (body, content_type) == (b"x\n1\n2\n", "text/csv")


def test_figure_becomes_png() -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([1, 2, 3])
    body, content_type = serialize("p.png", figure)
    assert body.startswith(b"\x89PNG") and content_type == "image/png"


def test_dataframe_needs_csv_name() -> None:
    with pytest.raises(ArtifactNameError) as err:
        serialize("d.json", pd.DataFrame({"x": [1]}))
    assert err.value.code == "InvalidArtifact"
    assert err.value.message == "artifact 'd.json' holds a DataFrame: its name must end with '.csv'"


def test_manifest_name_is_reserved() -> None:
    with pytest.raises(ArtifactNameError, match=r"not 'manifest\.json'"):
        serialize("manifest.json", {})


def test_names_cannot_contain_slashes() -> None:
    with pytest.raises(ArtifactNameError, match=r"'\.\./x\.json' is invalid"):
        serialize("../x.json", {})


def test_nan_is_rejected_rather_than_written_as_invalid_json() -> None:
    with pytest.raises(ValueError):
        serialize("s.json", {"x": float("nan")})


def test_put_once_stores_checksum_and_metadata(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p/", client=aws.s3)
    ref = store.put_once("p/a.txt", b"hello", content_type="text/plain", metadata={"run-id": "r1"})
    head = aws.s3.head_object(Bucket=BUCKET, Key="p/a.txt")
    assert head["Metadata"] == {"run-id": "r1", "sha256": sha256_hex(b"hello")}
    assert ref.sha256 == sha256_hex(b"hello") and not ref.existed
    assert head["ContentType"] == "text/plain"


def test_identical_rewrite_is_accepted_without_a_new_version(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p/", client=aws.s3)
    store.put_once("p/a.txt", b"hello")
    again = store.put_once("p/a.txt", b"hello")
    assert again.existed and aws.versions() == 1


def test_different_content_is_a_conflict_and_never_overwrites(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p/", client=aws.s3)
    store.put_once("p/a.txt", b"hello")
    with pytest.raises(ArtifactConflictError) as err:
        store.put_once("p/a.txt", b"HELLO")
    assert err.value.code == "ArtifactConflict"
    assert "s3://sciflow-test-artifacts/p/a.txt already exists with different content" in err.value.message
    assert aws.s3.get_object(Bucket=BUCKET, Key="p/a.txt")["Body"].read() == b"hello"
    assert aws.versions() == 1


def test_write_set_writes_manifest_listing_every_checksum(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p", client=aws.s3)
    refs, manifest_key = store.write_set("date=2026-03-01/", {"a.json": {"x": 1}, "b.txt": "hi"},
                                         manifest_extra={"run_id": "r1"})
    manifest = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    assert manifest_key == "p/date=2026-03-01/manifest.json"
    assert manifest["run_id"] == "r1"
    assert [(e["key"], e["sha256"]) for e in manifest["artifacts"]] == [(r.key, r.sha256) for r in refs]


def test_write_set_with_a_bad_artifact_writes_nothing(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p/", client=aws.s3)
    with pytest.raises(ArtifactNameError):
        store.write_set("date=2026-03-01/", {"a.json": {"x": 1}, "b.csv": object()})
    assert aws.object_keys() == []


def test_write_set_accepts_an_existing_manifest_of_the_same_set(aws: Aws) -> None:
    store = ArtifactStore(BUCKET, "p/", client=aws.s3)
    store.write_set("d/", {"a.json": {"x": 1}}, manifest_extra={"run_id": "r1"})
    _, key = store.write_set("d/", {"a.json": {"x": 1}}, manifest_extra={"run_id": "r2"})
    assert json.loads(aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["run_id"] == "r1"
