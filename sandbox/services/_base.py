"""The one registry of AWS types the sandbox knows: each type's mock answer and deploy handler, side by side.

A service module declares a type once::

    @resource("aws:sqs/queue:Queue")
    class Queue:
        @staticmethod
        def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
            ...  # complete the mocked outputs, return the ID (consistent with what moto will create)

        @staticmethod
        def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
            ...  # create it in the embedded AWS

``answer`` is plugged into ``synth`` (``answers=ANSWERS``) so the graph already carries the names and ARNs the
deploy creates; either may be left out (the generic answer of :mod:`synth.mocks` / no deploy = "skipped").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from synth import MockContext, ResourceAnswer
from synth.graph import Resource

if TYPE_CHECKING:
    from sandbox.deploy import Deployment


class DeployError(RuntimeError):
    """A resource could not be created; the message names its URN and the AWS error."""


DeployHandler = Callable[["Deployer", Resource, dict[str, Any]], None]


@dataclass(frozen=True)
class ResourceType:
    """A type the sandbox knows: its token, exact mock answer and deploy handler."""

    token: str
    answer: ResourceAnswer | None
    deploy: DeployHandler | None


REGISTRY: dict[str, ResourceType] = {}


def resource(token: str, *aliases: str) -> Callable[[type], type]:
    """Register the class's ``answer`` and ``deploy`` for ``token`` (and its deprecated aliases), once."""

    def register(cls: type) -> type:
        entry = ResourceType(token, getattr(cls, "answer", None), getattr(cls, "deploy", None))
        for name in (token, *aliases):
            if name in REGISTRY:
                raise ValueError(f"{name} is registered twice ({REGISTRY[name]} and {cls.__qualname__})")
            REGISTRY[name] = entry
        return cls

    return register


class Deployer:
    """What a deploy handler works with: clients of the embedded AWS, the ID replacement map, warnings."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.aws = deployment.aws
        self.state = deployment.aws.deploy_state
        self.region = deployment.region
        self.warnings = deployment.warnings

    def client(self, service: str) -> Any:
        return self.aws.client(service, region=self.region)

    def replace(self, old: Any, new: Any) -> None:
        """Record that moto's ``new`` stands for the graph's ``old`` (every later input is rewritten)."""
        if old and new and str(old) != str(new):
            self.deployment.replacements[str(old)] = str(new)


# --------------------------------------------------------------------------- helpers for inputs
def to_int(value: Any) -> int | None:
    return None if value is None else int(value)


def compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values and empty containers (boto3 rejects ``None``)."""
    return {k: v for k, v in mapping.items() if v is not None and v != {} and v != []}


def json_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def tags_kv(tags: Mapping[str, Any] | None, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: str(k), value: str(v)} for k, v in sorted((tags or {}).items())]


def tags_map(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (tags or {}).items()}


def exists(exc: ClientError) -> bool:
    """Whether an AWS error says the resource is already there (a second deploy)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return ("AlreadyExists" in code or "AlreadyOwnedByYou" in code or code in {
        "ResourceInUseException", "ResourceConflictException", "EntityAlreadyExists", "ConflictException",
        "QueueAlreadyExists", "ResourceAlreadyExistsException", "StateMachineAlreadyExists",
    } or "already exists" in message.lower())


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def named(m: MockContext, args: Any, out: dict[str, Any], *, key: str = "name", max_len: int = 64,
          lower: bool = False) -> str:
    """``out[key]`` from the input or auto-named, as the provider names a resource."""
    name = out.get(key) or m.autoname(args.typ, args.name, max_len=max_len, lower=lower)
    out[key] = name
    return str(name)
