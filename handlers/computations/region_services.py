"""``region_services``: which AWS service is offered in which region, fetched from AWS's public SSM parameters.

AWS publishes its global infrastructure as public Parameter Store parameters (readable by every account, no
charge): ``/aws/service/global-infrastructure/regions/<code>`` (value: the code), ``.../services/<code>``, the
long names (``.../regions/<code>/longName``, ``.../services/<code>/longName``), and availability in both
directions (``.../regions/<r>/services/<s>`` and ``.../services/<s>/regions/<r>``). :func:`fetch` reads:

1. the region and service lists (``GetParametersByPath``, 10 a page: SSM's maximum);
2. their long names (``GetParameters``, 10 names a call; a name AWS does not have is left empty);
3. availability along the *shorter* axis: one listing per region when there are fewer regions than services
   (about 40 vs 400 today: ~950 calls instead of ~1,100), else one per service. Listings run on a few threads.

Pages are followed until AWS returns no ``NextToken`` (a page may hold fewer than 10 parameters, or none, and
still have a next page: results are "best effort"), with at most :data:`MAX_PAGES` pages per listing and a repeated
token treated as an error, so a misbehaving endpoint cannot loop. Throttling and transient errors are retried by
botocore's *standard* retry mode (bounded attempts, exponential backoff with jitter) and every request has connect
and read timeouts (:func:`client_config`); the run's time budget is checked before each call. A parameter whose
value is not what its name says (a region listed as ``.../regions/eu-west-1`` with another value, an empty value,
a name outside the listed path) stops the fetch with :class:`ParameterError` naming the parameter.

The output is JSON Lines, one availability pair a line (``region, region_name, service, service_name``), written
into the computation's first output (the ``region-services`` pipeline's inbox), where the ``region_services``
dataset validates it. Grants: ``ssm:GetParametersByPath`` on the listed paths and ``ssm:GetParameters`` on the
``longName`` parameters (:func:`grant_resources`), nothing else in SSM.

Example
-------
>>> inventory = Inventory(regions={"eu-west-1": "Europe (Ireland)"}, services={"s3": "Amazon S3"},
...                       pairs={("eu-west-1", "s3")})
>>> jsonl_bytes(inventory).decode().strip()
'{"region": "eu-west-1", "region_name": "Europe (Ireland)", "service": "s3", "service_name": "Amazon S3"}'
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from handlers.runtime import clients
from handlers.runtime.errors import SciflowError
from handlers.runtime.scheduled import Result, RunContext, scheduled_handler

ROOT = "/aws/service/global-infrastructure"
REGIONS = f"{ROOT}/regions"
SERVICES = f"{ROOT}/services"
PAGE_SIZE = 10
"""``MaxResults`` of GetParametersByPath and the most names one GetParameters call takes (SSM's limits)."""
MAX_PAGES = 500
"""Pages one listing may take (5,000 parameters); more means the endpoint is looping."""
WORKERS = 4
"""Concurrent availability listings (SSM's default GetParametersByPath throughput is shared by the account)."""
MAX_ATTEMPTS = 5
"""Attempts per request, first one included (botocore standard retry mode)."""
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20
OUTPUT_NAME = "region-services.jsonl"
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # a parameter name level (SSM's name characters, no '/')


class ParameterError(SciflowError):
    """A public parameter does not hold what its name promises; the message names the parameter."""

    code = "InvalidParameter"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"SSM parameter {name!r}: {problem}")
        self.name = name


class FetchError(SciflowError):
    """An SSM request failed after its retries (throttled, refused, or the endpoint misbehaved)."""

    code = "FetchFailed"


@dataclass
class Inventory:
    """What :func:`fetch` found: region and service long names by code, availability pairs, and call counts."""

    regions: dict[str, str]
    services: dict[str, str]
    pairs: set[tuple[str, str]]
    calls: dict[str, int] = field(default_factory=dict)
    axis: str = "regions"

    def rows(self) -> list[dict[str, str]]:
        """One record per ``(region, service)`` pair, sorted; names are ``""`` where AWS has none."""
        return [{"region": region, "region_name": self.regions.get(region, ""), "service": service,
                 "service_name": self.services.get(service, "")} for region, service in sorted(self.pairs)]

    def summary(self) -> dict[str, Any]:
        """Counts for the run's ``result.json`` (and the ledger)."""
        return {"regions": len(self.regions), "services": len(self.services), "pairs": len(self.pairs),
                "axis": self.axis, "calls": dict(sorted(self.calls.items())),
                "services_without_region": len(set(self.services) - {s for _, s in self.pairs}),
                "uncatalogued_services": sorted({s for _, s in self.pairs} - set(self.services))}


def client_config() -> Any:
    """botocore settings of the SSM client: standard retry mode, :data:`MAX_ATTEMPTS`, connect/read timeouts."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                  connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S)


def grant_resources(region: str, partition: str = "aws") -> dict[str, list[str]]:
    """The exact IAM resources each action needs in ``region`` (public parameters have no account in their ARN).

    ``GetParametersByPath`` is authorized on the path it lists (and grants everything below it when recursive, so
    this fetcher never asks for recursion); ``*`` stands for one region or service code.

    Example
    -------
    >>> grant_resources("ap-south-1")["ssm:GetParameters"][0]
    'arn:aws:ssm:ap-south-1::parameter/aws/service/global-infrastructure/regions/*/longName'
    """
    base = f"arn:{partition}:ssm:{region}::parameter{ROOT}"
    return {
        "ssm:GetParametersByPath": [f"{base}/regions", f"{base}/services", f"{base}/regions/*/services",
                                    f"{base}/services/*/regions"],
        "ssm:GetParameters": [f"{base}/regions/*/longName", f"{base}/services/*/longName"],
    }


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def add(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1


def _call(ssm: Any, operation: str, what: str, counter: _Counter, check: Callable[[str], None],
          **params: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    check(f"SSM {operation} {what}")
    counter.add(operation)
    try:
        response: dict[str, Any] = getattr(ssm, _snake(operation))(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        raise FetchError(f"{operation} {what}: {error.get('Code', 'error')} after {attempts} attempt(s): "
                         f"{error.get('Message', '')}".rstrip(": ")) from None
    except BotoCoreError as exc:
        raise FetchError(f"{operation} {what}: {exc}") from None
    return response


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def list_path(ssm: Any, path: str, *, counter: _Counter | None = None, check: Callable[[str], None] = lambda w: None,
              max_pages: int = MAX_PAGES) -> dict[str, str]:
    """The direct children of ``path``: ``{last name level: value}``, every page followed.

    Raises :class:`ParameterError` for a child outside ``path`` or with an empty / non-text value, and
    :class:`FetchError` for a repeated ``NextToken`` or more than ``max_pages`` pages.

    Example
    -------
    >>> list_path(ssm, REGIONS)["eu-west-1"]  # doctest: +SKIP
    'eu-west-1'
    """
    counter = counter or _Counter()
    found: dict[str, str] = {}
    token: str | None = None
    seen: set[str] = set()
    for _page in range(max_pages):
        params: dict[str, Any] = {"Path": path, "Recursive": False, "MaxResults": PAGE_SIZE}
        if token:
            params["NextToken"] = token
        response = _call(ssm, "GetParametersByPath", path, counter, check, **params)
        parameters = response.get("Parameters")
        if not isinstance(parameters, list):
            raise FetchError(f"GetParametersByPath {path}: the response has no Parameters list")
        for parameter in parameters:
            name, value = parameter.get("Name"), parameter.get("Value")
            leaf = name[len(path) + 1:] if isinstance(name, str) and name.startswith(path + "/") else ""
            if not _SEGMENT.fullmatch(leaf):
                raise ParameterError(str(name), f"is not a direct child of {path} (listed under it)")
            if not isinstance(value, str) or not value.strip():
                raise ParameterError(name, f"has an empty or non-text value {value!r}")
            found[leaf] = value
        token = response.get("NextToken")
        if not token:
            return found
        if token in seen:
            raise FetchError(f"GetParametersByPath {path}: NextToken {token[:40]!r} came back twice (the endpoint "
                             "is looping)")
        seen.add(token)
    raise FetchError(f"GetParametersByPath {path}: more than {max_pages} pages; refusing to continue")


def codes(listing: Mapping[str, str], path: str) -> list[str]:
    """The codes of a region/service listing, whose values must equal their names' last level.

    Example
    -------
    >>> codes({"eu-west-1": "eu-west-1"}, REGIONS)
    ['eu-west-1']
    >>> codes({"eu-west-1": "=cmd"}, REGIONS)
    Traceback (most recent call last):
    ...
    handlers.computations.region_services.ParameterError: InvalidParameter: SSM parameter \
'/aws/service/global-infrastructure/regions/eu-west-1': value '=cmd' differs from its name's last level 'eu-west-1'
    """
    for leaf, value in listing.items():
        if value != leaf:
            raise ParameterError(f"{path}/{leaf}", f"value {value!r} differs from its name's last level {leaf!r}")
    return sorted(listing)


def long_names(ssm: Any, path: str, names: Iterable[str], *, counter: _Counter | None = None,
               check: Callable[[str], None] = lambda w: None) -> dict[str, str]:
    """``{code: long name}`` from ``<path>/<code>/longName`` (10 names a GetParameters call); missing ones are
    left out (AWS lists them as ``InvalidParameters``)."""
    counter = counter or _Counter()
    wanted = sorted(names)
    out: dict[str, str] = {}
    for start in range(0, len(wanted), PAGE_SIZE):
        batch = {f"{path}/{code}/longName": code for code in wanted[start:start + PAGE_SIZE]}
        response = _call(ssm, "GetParameters", f"{path}/*/longName", counter, check, Names=list(batch))
        for parameter in response.get("Parameters") or []:
            name, value = parameter.get("Name"), parameter.get("Value")
            if name not in batch:
                raise ParameterError(str(name), "was returned but not asked for")
            if not isinstance(value, str):
                raise ParameterError(name, f"has a non-text value {value!r}")
            out[batch[name]] = value.strip()
    return out


def fetch(ssm: Any, *, check: Callable[[str], None] = lambda what: None, workers: int = WORKERS) -> Inventory:
    """Read the whole inventory (see the module docstring); ``check(what)`` runs before every request.

    Example
    -------
    >>> inventory = fetch(boto3.client("ssm", config=client_config()))  # doctest: +SKIP
    >>> ("eu-west-1", "s3") in inventory.pairs  # doctest: +SKIP
    True
    """
    counter = _Counter()
    regions = codes(list_path(ssm, REGIONS, counter=counter, check=check), REGIONS)
    services = codes(list_path(ssm, SERVICES, counter=counter, check=check), SERVICES)
    axis, root, child = ((regions, REGIONS, "services") if len(regions) <= len(services)
                         else (services, SERVICES, "regions"))

    def availability(code: str) -> list[str]:
        path = f"{root}/{code}/{child}"
        return codes(list_path(ssm, path, counter=counter, check=check), path)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        listed = list(pool.map(availability, axis))
    pairs = {(a, b) if root == REGIONS else (b, a) for a, found in zip(axis, listed, strict=True) for b in found}
    region_names = long_names(ssm, REGIONS, regions, counter=counter, check=check)
    service_names = long_names(ssm, SERVICES, services, counter=counter, check=check)
    return Inventory(regions={r: region_names.get(r, "") for r in regions},
                     services={s: service_names.get(s, "") for s in services}, pairs=pairs,
                     calls=counter.calls, axis="regions" if root == REGIONS else "services")


def jsonl_bytes(inventory: Inventory) -> bytes:
    """:meth:`Inventory.rows` as JSON Lines (UTF-8, one object a line, keys in a fixed order)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in inventory.rows()).encode("utf-8")


def compute(ctx: RunContext, *, ssm: Any = None) -> Result:
    """Fetch the inventory and write it, as JSON Lines, into the computation's first output.

    Without an output (``outputs`` not configured) the JSON Lines are kept as an artifact instead.
    """
    if ssm is None:
        ssm = clients.client("ssm", config=client_config())
    inventory = fetch(ssm, check=ctx.budget.check)
    body = jsonl_bytes(inventory)
    summary: dict[str, Any] = {**inventory.summary(), "bytes": len(body)}
    artifacts: dict[str, Any] = {"inventory.json": {**summary, "regions": inventory.regions,
                                                    "services": inventory.services}}
    outputs = getattr(ctx, "outputs", ())
    if outputs:
        from handlers.runtime.outputs import write_output

        ref = write_output(ctx, OUTPUT_NAME, body, content_type="application/x-ndjson")
        summary["written"] = ref.uri
    else:
        artifacts[OUTPUT_NAME] = body
    return Result(summary=summary, artifacts=artifacts)


handler = scheduled_handler(compute)
