"""The per-process SDK client cache: reused while the environment is unchanged, never across credentials."""

from __future__ import annotations

import pytest
from botocore.config import Config

from handlers.runtime import clients


@pytest.fixture(autouse=True)
def _env(aws_credentials: None) -> None:
    """Fake credentials for every test here (``aws_credentials`` from tests/conftest.py)."""


def test_a_warm_process_reuses_its_client() -> None:
    assert clients.client("s3") is clients.client("s3")
    assert clients.client("s3") is not clients.client("dynamodb")


@pytest.mark.parametrize("variable", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                      "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_MAX_ATTEMPTS"])
def test_another_role_or_endpoint_gets_its_own_client(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    first = clients.client("s3")
    with monkeypatch.context() as changed:
        changed.setenv(variable, "http://127.0.0.1:1" if "ENDPOINT" in variable else "3" if "MAX" in variable
                       else "eu-west-1" if "REGION" in variable else "other")
        assert clients.client("s3") is not first
    assert clients.client("s3") is first  # the first environment again: its client again


def test_lambda_invocation_variables_do_not_change_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    first = clients.client("s3")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/02/[$LATEST]abc")
    assert clients.client("s3") is first


def test_config_options_are_part_of_the_key() -> None:
    fast = clients.client("ssm", config=Config(connect_timeout=1))
    assert clients.client("ssm", config=Config(connect_timeout=1)) is fast
    assert clients.client("ssm", config=Config(connect_timeout=2)) is not fast
    assert clients.client("ssm") is not fast


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_CLIENTS", 2)
    first = clients.client("s3")
    clients.client("sqs")
    assert clients.client("s3") is first  # touched last: kept
    clients.client("dynamodb")  # evicts sqs, the least recently used
    assert clients.client("s3") is first
    assert len(clients._CLIENTS) == 2


def test_clear_forgets_every_client() -> None:
    first = clients.client("s3")
    clients.clear()
    assert clients.client("s3") is not first
