"""sandbox.ssm_paths: moto's Parameter Store path listings through a sorted index give moto's answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sandbox import ssm_paths

REGION = "ap-south-1"


def listing(ssm: Any, path: str, recursive: bool = False, size: int = 10) -> list[str]:
    names, token = [], None
    while True:
        response = ssm.get_parameters_by_path(Path=path, Recursive=recursive, MaxResults=size,
                                              **({"NextToken": token} if token else {}))
        names += [p["Name"] for p in response["Parameters"]]
        token = response.get("NextToken")
        if not token:
            return names


@pytest.fixture
def ssm(aws_credentials: None) -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("ssm", region_name=REGION)
        for name in ("/app/b", "/app/a", "/app/c/deep", "/apple", "/app/c/deeper/x"):
            client.put_parameter(Name=name, Value="v", Type="String")
        yield client
        ssm_paths.uninstall()


PATHS = [("/app", False), ("/app", True), ("/app/", False), ("/app/c", True),
         ("/aws/service/global-infrastructure/regions/ap-south-1/services", False)]


def test_listings_match_moto_and_are_ordered(ssm: Any) -> None:
    plain = {(p, r): listing(ssm, p, r) for p, r in PATHS}
    ssm_paths.install()
    indexed = {(p, r): listing(ssm, p, r, size=3) for p, r in PATHS}
    assert {k: sorted(v) for k, v in plain.items()} == indexed
    assert indexed[("/app", False)] == ["/app/a", "/app/b"]
    assert "/apple" not in indexed[("/app", True)]
    assert len(indexed[PATHS[-1]]) > 100  # the public tree loads lazily through the index too


def test_the_index_follows_new_and_deleted_parameters(ssm: Any) -> None:
    ssm_paths.install()
    assert listing(ssm, "/app") == ["/app/a", "/app/b"]
    ssm.put_parameter(Name="/app/0", Value="v", Type="String")
    ssm.delete_parameter(Name="/app/b")
    assert listing(ssm, "/app") == ["/app/0", "/app/a"]
    ssm.delete_parameters(Names=["/app/0"])
    assert listing(ssm, "/app") == ["/app/a"]


def test_filters_and_limits_keep_moto_s_own_answers(ssm: Any) -> None:
    ssm_paths.install()
    filtered = ssm.get_parameters_by_path(Path="/app", ParameterFilters=[{"Key": "Type", "Values": ["String"]}])
    assert [p["Name"] for p in filtered["Parameters"]] == ["/app/a", "/app/b"]
    with pytest.raises(ssm.exceptions.ClientError, match="less than or equal to 10"):
        ssm.get_parameters_by_path(Path="/app", MaxResults=11)


def test_uninstall_restores_moto() -> None:
    from moto.ssm.models import ParameterDict, SimpleSystemManagerBackend

    before = (ParameterDict.get_keys_beginning_with, SimpleSystemManagerBackend.get_parameters_by_path,
              "__setitem__" in ParameterDict.__dict__)
    ssm_paths.install()
    ssm_paths.install()
    ssm_paths.uninstall()
    assert (ParameterDict.get_keys_beginning_with, SimpleSystemManagerBackend.get_parameters_by_path,
            "__setitem__" in ParameterDict.__dict__) == before
