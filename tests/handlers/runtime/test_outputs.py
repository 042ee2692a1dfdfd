"""handlers.runtime.outputs: write-once outputs with the source metadata, and the URIs a run read and wrote."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from handlers.runtime.errors import ArtifactNameError
from handlers.runtime.outputs import SOURCE_METADATA, RecordingS3, output_key, write_output
from handlers.runtime.scheduled import InputLocation, Result, RunContext, Settings, run_scheduled
from tests.support.events import scheduled_event
from tests.support.lambda_context import LambdaContext
from tests.support.runtime import BUCKET, PREFIX, REGION, TABLE, Aws

INBOX = "pipeline-raw"
SETTINGS = Settings(computation="fetcher", bucket=BUCKET, table=TABLE, prefix=PREFIX, timezone="UTC",
                    outputs=(InputLocation(INBOX, "incoming/"),))


@pytest.fixture
def inbox(aws: Aws) -> Aws:
    aws.s3.create_bucket(Bucket=INBOX, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws.s3.put_object(Bucket=BUCKET, Key="shared/input.csv", Body=b"value\n1\n")
    return aws


def run(aws: Aws, compute: Any, settings: Settings = SETTINGS) -> dict[str, Any]:
    return run_scheduled(compute, scheduled_event(), LambdaContext(), settings=settings, s3_client=aws.s3,
                         dynamodb_client=aws.dynamodb)


def fetch_and_write(ctx: RunContext) -> Result:
    ctx.s3_client.get_object(Bucket=BUCKET, Key="shared/input.csv")["Body"].read()
    ref = write_output(ctx, "regions.json", '{"regions": []}', content_type="application/json")
    return Result(summary={"uri": ref.uri, "existed": ref.existed})


def test_write_output_is_write_once_with_source_metadata_and_the_ledger_lists_reads_and_writes(inbox: Aws) -> None:
    response = run(inbox, fetch_and_write)
    key = "incoming/fetcher/date=2026-03-01/regions.json"
    assert response["summary"] == {"uri": f"s3://{INBOX}/{key}", "existed": False}
    head = inbox.s3.head_object(Bucket=INBOX, Key=key)
    assert head["Metadata"][SOURCE_METADATA] == "computation:fetcher"
    assert head["Metadata"]["business-date"] == "2026-03-01"
    assert response["inputs"] == [f"s3://{BUCKET}/shared/input.csv"]
    assert response["outputs"] == [f"s3://{INBOX}/{key}"]
    item = inbox.item("2026-03-01", "fetcher")
    assert item is not None and item["inputs"] == {"L": [{"S": f"s3://{BUCKET}/shared/input.csv"}]}


def test_an_existing_output_is_left_as_is(inbox: Aws) -> None:
    key = "incoming/fetcher/date=2026-03-01/regions.json"
    inbox.s3.put_object(Bucket=INBOX, Key=key, Body=b"first")
    response = run(inbox, fetch_and_write)
    assert response["summary"]["existed"] is True
    assert response["outputs"] == [f"s3://{INBOX}/{key}"]
    assert inbox.s3.get_object(Bucket=INBOX, Key=key)["Body"].read() == b"first"


def test_undeclared_output_and_bad_names_fail_the_run(inbox: Aws) -> None:
    def second_output(ctx: RunContext) -> Result:
        write_output(ctx, "x.json", b"{}", index=1)
        return Result(summary={})

    with pytest.raises(Exception, match="output 1 is not declared: fetcher has 1 output"):
        run(inbox, second_output)
    with pytest.raises(Exception, match="output 0 is not declared: other has 0 output"):
        run(inbox, fetch_and_write, replace(SETTINGS, outputs=(), computation="other"))


@pytest.mark.parametrize(("folder", "name"), [("", "../x"), ("", "/x"), ("a/../", "x"), ("", ""), ("", "dir/"),
                                              ("a", "x"), ("", "a\nb"), ("./", "x")])
def test_output_keys_stay_inside_the_prefix(folder: str, name: str) -> None:
    with pytest.raises(ArtifactNameError, match="is not a relative key"):
        output_key("incoming/", folder, name)


def test_output_key_length_is_s3s() -> None:
    assert output_key("in/", "f/", "a.csv") == "in/f/a.csv"
    with pytest.raises(ArtifactNameError, match="longer than S3's 1024 bytes"):
        output_key("in/", "", "x" * 1022)


def test_recording_client_records_only_successful_reads() -> None:
    class Client:
        def get_object(self, **kw: Any) -> Any:
            if kw["Key"] == "missing":
                raise KeyError("missing")
            return {}

        def head_object(self, **kw: Any) -> Any:
            return {}

    s3 = RecordingS3(Client())
    s3.get_object(Bucket="b", Key="k")
    s3.get_object(Bucket="b", Key="k")
    with pytest.raises(KeyError):
        s3.get_object(Bucket="b", Key="missing")
    s3.head_object(Bucket="b", Key="h")
    assert (s3.read, s3.written) == (["s3://b/k"], [])
