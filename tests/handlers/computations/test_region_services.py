"""region_services fetcher: pagination, the shorter axis, retries, bounded listings, bad parameter values.

The SSM endpoint is a real botocore client whose requests are answered by a ``before-send`` hook (:class:`FakeSsm`):
serialization, the standard retry mode and its attempt limit are botocore's own, only the server is ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from handlers.computations import region_services as rs
from handlers.computations.region_services import FetchError, Inventory, ParameterError, fetch, list_path
from handlers.runtime.budget import TimeBudget
from handlers.runtime.errors import TimeBudgetExceeded
from handlers.runtime.scheduled import RunContext

ROOT = rs.ROOT


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


def tree(availability: dict[str, list[str]], *, services: list[str] | None = None,
         names: bool = True) -> dict[str, str]:
    """Public parameters for regions -> services offered (both directions, long names)."""
    params: dict[str, str] = {}
    all_services = sorted(set(services or []) | {s for offered in availability.values() for s in offered})
    for region, offered in availability.items():
        params[f"{ROOT}/regions/{region}"] = region
        if names:
            params[f"{ROOT}/regions/{region}/longName"] = f"Region {region.upper()}"
        for service in offered:
            params[f"{ROOT}/regions/{region}/services/{service}"] = service
            params[f"{ROOT}/services/{service}/regions/{region}"] = region
    for service in all_services:
        params[f"{ROOT}/services/{service}"] = service
        if names:
            params[f"{ROOT}/services/{service}/longName"] = f"Service {service}"
    return params


class FakeSsm:
    """A Parameter Store answering GetParametersByPath / GetParameters from ``params`` (``page`` per page)."""

    def __init__(self, params: dict[str, str], *, page: int = 10, throttle: int = 0, empty_pages: bool = False,
                 tamper: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.params, self.page, self.throttle, self.tamper = params, page, throttle, tamper
        self.empty_pages = empty_pages
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client = boto3.client("ssm", region_name="ap-south-1", endpoint_url="https://ssm.invalid",
                                   aws_access_key_id="a", aws_secret_access_key="b", config=rs.client_config())
        self.client.meta.events.register("before-send.ssm", self._answer)

    def _answer(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        body = json.loads(request.body)
        self.requests.append((operation, body))
        if self.throttle:
            self.throttle -= 1
            error = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            return AWSResponse(request.url, 400, {"x-amzn-RequestId": "t"}, _Raw(json.dumps(error).encode()))
        answer = self._by_path(body) if operation == "GetParametersByPath" else self._by_names(body)
        if self.tamper:
            answer = self.tamper(operation, answer)
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "r"}, _Raw(json.dumps(answer).encode()))

    def _by_path(self, body: dict[str, Any]) -> dict[str, Any]:
        path = body["Path"].rstrip("/") + "/"
        children = sorted(n for n in self.params if n.startswith(path) and "/" not in n[len(path):])
        token = body.get("NextToken") or "0"
        if self.empty_pages and not token.startswith("e"):  # "best effort": an empty page, then the real one
            return {"Parameters": [], "NextToken": f"e{token}"}
        start = int(token.removeprefix("e")) if token.removeprefix("e").isdigit() else 0  # a tampered token
        size = min(self.page, int(body.get("MaxResults", 10)))
        chunk = children[start:start + size]
        answer: dict[str, Any] = {"Parameters": [{"Name": n, "Value": self.params[n], "Type": "String"}
                                                 for n in chunk]}
        if start + size < len(children):
            answer["NextToken"] = str(start + size)
        return answer

    def _by_names(self, body: dict[str, Any]) -> dict[str, Any]:
        names = body["Names"]
        return {"Parameters": [{"Name": n, "Value": self.params[n], "Type": "String"} for n in names
                               if n in self.params],
                "InvalidParameters": [n for n in names if n not in self.params]}


AVAILABILITY = {"eu-west-1": ["ec2", "s3", "sqs"], "us-east-1": ["ec2", "lambda", "s3", "sqs"],
                "ap-south-1": ["s3"]}


def expected_pairs(availability: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(r, s) for r, offered in availability.items() for s in offered}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry delays, not waited for (the attempts are what the tests count)."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)


def test_every_page_is_followed_and_pairs_are_complete() -> None:
    fake = FakeSsm(tree(AVAILABILITY, services=["iot"]), page=2)
    inventory = fetch(fake.client)
    assert inventory.pairs == expected_pairs(AVAILABILITY)
    assert sorted(inventory.services) == ["ec2", "iot", "lambda", "s3", "sqs"]
    assert inventory.regions["eu-west-1"] == "Region EU-WEST-1"
    assert inventory.summary()["services_without_region"] == 1


def test_availability_is_read_along_the_shorter_axis() -> None:
    few_regions = fetch(FakeSsm(tree(AVAILABILITY)).client)
    assert few_regions.axis == "regions"
    many_regions = {f"xx-east-{i}": ["s3"] for i in range(1, 5)}
    fake = FakeSsm(tree(many_regions))
    inventory = fetch(fake.client)
    assert inventory.axis == "services"
    assert inventory.pairs == expected_pairs(many_regions)
    listed = [b["Path"] for op, b in fake.requests if op == "GetParametersByPath"]
    assert f"{ROOT}/services/s3/regions" in listed and not any(p.endswith("/services") and "/regions/" in p
                                                                for p in listed)


def test_empty_pages_with_a_token_are_followed() -> None:
    """AWS may return fewer than MaxResults parameters, even none, and still a NextToken."""
    fake = FakeSsm(tree(AVAILABILITY), page=1, empty_pages=True)
    assert list_path(fake.client, f"{ROOT}/regions") == {r: r for r in AVAILABILITY}
    assert len(fake.requests) == 2 * len(AVAILABILITY)


def test_long_names_are_fetched_ten_at_a_time_and_missing_ones_stay_empty() -> None:
    many = {"eu-west-1": [f"svc{i:02d}" for i in range(23)]}
    params = tree(many)
    del params[f"{ROOT}/services/svc05/longName"]
    fake = FakeSsm(params)
    inventory = fetch(fake.client)
    batches = [b["Names"] for op, b in fake.requests if op == "GetParameters"]
    assert max(len(b) for b in batches) == 10 and sum(len(b) for b in batches) == 24
    assert inventory.services["svc05"] == "" and inventory.services["svc06"] == "Service svc06"


def test_throttling_is_retried_by_the_sdk() -> None:
    fake = FakeSsm(tree(AVAILABILITY), throttle=3)
    assert fetch(fake.client).pairs == expected_pairs(AVAILABILITY)
    assert fake.requests[0] == fake.requests[3]  # the same request, sent again


def test_retries_are_bounded_and_the_error_names_the_path() -> None:
    fake = FakeSsm(tree(AVAILABILITY), throttle=1000)
    with pytest.raises(FetchError, match=rf"GetParametersByPath {ROOT}/regions: ThrottlingException after "
                                         rf"{rs.MAX_ATTEMPTS} attempt\(s\): Rate exceeded"):
        fetch(fake.client)
    assert len(fake.requests) == rs.MAX_ATTEMPTS


def test_the_client_has_timeouts_and_standard_retries() -> None:
    config = rs.client_config()
    assert (config.connect_timeout, config.read_timeout) == (rs.CONNECT_TIMEOUT_S, rs.READ_TIMEOUT_S)
    assert config.retries == {"mode": "standard", "total_max_attempts": rs.MAX_ATTEMPTS}


def test_a_repeated_token_stops_the_listing() -> None:
    def loop(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "NextToken": "same"} if operation == "GetParametersByPath" else answer

    with pytest.raises(FetchError, match="NextToken 'same' came back twice"):
        list_path(FakeSsm(tree(AVAILABILITY), tamper=loop).client, f"{ROOT}/regions")


def test_listings_are_bounded_in_pages() -> None:
    def endless(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        endless.n += 1  # type: ignore[attr-defined]
        return {**answer, "NextToken": f"t{endless.n}"}  # type: ignore[attr-defined]

    endless.n = 0  # type: ignore[attr-defined]
    with pytest.raises(FetchError, match="more than 3 pages"):
        list_path(FakeSsm(tree(AVAILABILITY), tamper=endless).client, f"{ROOT}/regions", max_pages=3)


@pytest.mark.parametrize(("bad", "message"), [
    ({f"{ROOT}/regions/eu-west-1": "=HYPERLINK(1)"},
     r"SSM parameter '/aws/service/global-infrastructure/regions/eu-west-1': value '=HYPERLINK\(1\)' differs from "
     r"its name's last level 'eu-west-1'"),
    ({f"{ROOT}/regions/eu-west-1": "  "},
     r"SSM parameter '/aws/service/global-infrastructure/regions/eu-west-1': has an empty or non-text value"),
    ({f"{ROOT}/regions/eu-west-1/services/s3": "sqs"},
     r"'/aws/service/global-infrastructure/regions/eu-west-1/services/s3': value 'sqs' differs"),
])
def test_a_bad_parameter_value_is_an_error_naming_the_parameter(bad: dict[str, str], message: str) -> None:
    params = {**tree(AVAILABILITY), **bad}
    with pytest.raises(ParameterError, match=message):
        fetch(FakeSsm(params).client)


def test_a_child_outside_the_listed_path_is_refused() -> None:
    def stray(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetParametersByPath":
            return {"Parameters": [{"Name": "/elsewhere/x", "Value": "x", "Type": "String"}]}
        return answer

    with pytest.raises(ParameterError, match=r"'/elsewhere/x': is not a direct child of "):
        list_path(FakeSsm(tree(AVAILABILITY), tamper=stray).client, f"{ROOT}/regions")


def test_the_time_budget_is_checked_before_each_request() -> None:
    budget = TimeBudget(remaining_ms=lambda: 0)
    with pytest.raises(TimeBudgetExceeded, match="SSM GetParametersByPath"):
        fetch(FakeSsm(tree(AVAILABILITY)).client, check=budget.check)


def test_rows_are_sorted_json_lines_with_names() -> None:
    inventory = Inventory(regions={"b-c-1": "B", "a-b-1": ""}, services={"s3": "S3"},
                          pairs={("b-c-1", "s3"), ("a-b-1", "s3"), ("a-b-1", "ec2")})
    lines = [json.loads(line) for line in rs.jsonl_bytes(inventory).decode().splitlines()]
    assert lines == [{"region": "a-b-1", "region_name": "", "service": "ec2", "service_name": ""},
                     {"region": "a-b-1", "region_name": "", "service": "s3", "service_name": "S3"},
                     {"region": "b-c-1", "region_name": "B", "service": "s3", "service_name": "S3"}]
    assert inventory.summary()["uncatalogued_services"] == ["ec2"]


def test_grants_are_exact_paths_without_an_account() -> None:
    resources = rs.grant_resources("ap-south-1")
    assert set(resources) == {"ssm:GetParametersByPath", "ssm:GetParameters"}
    for arns in resources.values():
        for arn in arns:
            assert arn.startswith("arn:aws:ssm:ap-south-1::parameter/aws/service/global-infrastructure/")
            assert arn.count("*") <= 1 and not arn.endswith("/*")


def test_compute_keeps_the_rows_as_an_artifact_without_an_output() -> None:
    ctx = RunContext(computation="region-services-fetch", business_date=date(2026, 3, 1), run_id="r",
                     timezone="UTC", scheduled_time=datetime(2026, 3, 1, tzinfo=UTC),
                     budget=TimeBudget(remaining_ms=lambda: 60_000))
    result = rs.compute(ctx, ssm=FakeSsm(tree(AVAILABILITY)).client)
    assert result.summary["pairs"] == 8 and result.summary["regions"] == 3
    assert result.artifacts[rs.OUTPUT_NAME].count(b"\n") == 8
    assert result.artifacts["inventory.json"]["services"]["s3"] == "Service s3"
