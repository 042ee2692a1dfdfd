"""Create in the embedded AWS what a synthesized graph declares: the offline twin of ``pulumi up``.

Resources are created in registration order (Pulumi registers a resource after everything it takes outputs
from). The graph's outputs are the physical identity: the mocks already answer with the names and ARNs AWS
would give (account 123456789012, the stack's region, ``<logical>-<7 hex>`` auto-names), so buckets,
tables, functions ... are created under exactly those names. Where moto generates its own ids (KMS key ids,
layer version ARNs, queue URLs) the deploy keeps a replacement map (graph value -> moto value) and rewrites
every later input through it (policies, environment variables, state machine definitions, targets).

Custom resources of a type the deploy does not know are listed in :attr:`Deployment.skipped` (never silently
dropped); components and ``pulumi:`` providers are not cloud resources and are passed over.

Deploying the same graph twice into one embedded AWS is fine: KMS keys and layers are reused (the mapping is
kept in :attr:`EmbeddedAws.deploy_state`), functions and state machines are updated, the rest is
create-if-absent / put.

Example
-------
With ``graph`` from :func:`synth.synth` (the deploy of a whole program is tested in tests/e2e):

>>> with embedded_aws(graph.region) as aws:  # doctest: +SKIP
...     deployment = deploy(graph, aws)
...     deployment.function("daily-stats-fn").arn
'arn:aws:lambda:ap-south-1:123456789012:function:daily-stats-fn-1a2b3c4'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sandbox.archives import ArchiveError
from sandbox.authz.reasons import principal_kind
from sandbox.aws import EmbeddedAws
from sandbox.services import SUPPORTED_TYPES, Deployer, DeployError, handler
from sandbox.services.cloudwatch import ALARM as T_ALARM
from sandbox.services.cloudwatch import LOG_GROUP as T_LOG_GROUP
from sandbox.services.dynamodb import TABLE as T_TABLE
from sandbox.services.eventbridge import RULE as T_RULE
from sandbox.services.iam import ROLE as T_ROLE
from sandbox.services.kms import KEY as T_KEY
from sandbox.services.lambda_ import FUNCTION as T_FUNCTION
from sandbox.services.lambda_ import LAYER as T_LAYER
from sandbox.services.s3 import BUCKET as T_BUCKET
from sandbox.services.scheduler import SCHEDULE as T_SCHEDULE
from sandbox.services.sfn import STATE_MACHINE as T_STATE_MACHINE
from sandbox.services.sns import TOPIC as T_TOPIC
from sandbox.services.sqs import QUEUE as T_QUEUE
from synth.graph import Graph, Resource

__all__ = ["SUPPORTED_TYPES", "DeployError", "DeployedResource", "Deployment", "creation_order", "deploy"]


@dataclass
class DeployedResource:
    """One resource as it exists in the embedded AWS.

    ``outputs`` are the graph's outputs with moto's own ids substituted (so ``outputs["arn"]`` of a KMS key
    or a layer version is the ARN moto knows).
    """

    resource: Resource
    physical_name: str
    outputs: dict[str, Any]

    @property
    def name(self) -> str:
        """The logical (Pulumi) name."""
        return self.resource.name

    @property
    def type(self) -> str:
        return self.resource.type

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def arn(self) -> str | None:
        value = self.outputs.get("arn")
        return str(value) if value else None

    def __getitem__(self, key: str) -> Any:
        return self.outputs[key]


@dataclass
class Deployment:
    """What :func:`deploy` created, with lookups by logical name (or physical name, or URN) and type."""

    graph: Graph
    aws: EmbeddedAws
    resources: dict[str, DeployedResource] = field(default_factory=dict)
    skipped: list[Resource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replacements: dict[str, str] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.graph.region

    # ------------------------------------------------------------------ lookups
    def get(self, name: str, type: str | None = None) -> DeployedResource:
        """The deployed resource whose URN, logical name or physical name is ``name`` (optionally of ``type``)."""
        candidates = [d for d in self.resources.values() if type is None or d.type == type]
        for matcher in (lambda d: d.urn == name, lambda d: d.name == name, lambda d: d.physical_name == name,
                        lambda d: d.arn == name):
            found = [d for d in candidates if matcher(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                urns = ", ".join(d.urn for d in found)
                raise KeyError(f"{name!r} is ambiguous ({urns}); pass the URN")
        kind = f" of type {type}" if type else ""
        known = sorted({d.name for d in candidates})
        raise KeyError(f"no deployed resource {name!r}{kind}; deployed: {', '.join(known) or 'none'}")

    def of_type(self, type: str) -> list[DeployedResource]:
        return [d for d in self.resources.values() if d.type == type]

    def function(self, name: str) -> DeployedResource:
        return self.get(name, T_FUNCTION)

    def bucket(self, name: str) -> DeployedResource:
        return self.get(name, T_BUCKET)

    def table(self, name: str) -> DeployedResource:
        return self.get(name, T_TABLE)

    def queue(self, name: str) -> DeployedResource:
        return self.get(name, T_QUEUE)

    def key(self, name: str) -> DeployedResource:
        return self.get(name, T_KEY)

    def role(self, name: str) -> DeployedResource:
        return self.get(name, T_ROLE)

    def layer(self, name: str) -> DeployedResource:
        return self.get(name, T_LAYER)

    def log_group(self, name: str) -> DeployedResource:
        return self.get(name, T_LOG_GROUP)

    def state_machine(self, name: str) -> DeployedResource:
        return self.get(name, T_STATE_MACHINE)

    def rule(self, name: str) -> DeployedResource:
        return self.get(name, T_RULE)

    def schedule(self, name: str) -> DeployedResource:
        return self.get(name, T_SCHEDULE)

    def topic(self, name: str) -> DeployedResource:
        return self.get(name, T_TOPIC)

    def alarm(self, name: str) -> DeployedResource:
        return self.get(name, T_ALARM)

    def rewrite(self, value: Any) -> Any:
        """``value`` with every graph-only id replaced by the embedded AWS's (strings, nested)."""
        return _rewrite(value, self.replacements)

    def output(self, key: str) -> Any:
        """A stack output, rewritten to the embedded AWS's ids."""
        return self.rewrite(self.graph.outputs[key])

    def client(self, service: str) -> Any:
        return self.aws.client(service, region=self.region)

    def role_kinds(self) -> dict[str, str]:
        """Physical role name -> its principal kind (``EtlPipeline/output`` ...), for the access report's reasons
        (:func:`sandbox.authz.reasons.principal_kind`); roles outside a component are left out."""
        kinds: dict[str, str] = {}
        for role in self.of_type(T_ROLE):
            parent = role.resource.parent
            component = self.graph.get(parent) if parent else None
            if component is not None and not component.custom and component.type != "pulumi:pulumi:Stack":
                kinds[role.physical_name] = principal_kind(component.type, component.name, role.name)
        return kinds

    def access_report(self) -> dict[str, Any] | None:
        """The embedded AWS's access report with this deployment's principal kinds (``None`` when IAM is off)."""
        return self.aws.enforcer.report(self.role_kinds()) if self.aws.enforcer is not None else None

    def summary(self) -> str:
        lines = [f"deployed {len(self.resources)} resources into the embedded AWS ({self.region})"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} resources of unsupported types:")
            lines.extend(f"  {r.type}  {r.name}" for r in self.skipped)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def deploy(graph: Graph, aws: EmbeddedAws) -> Deployment:
    """Create every supported resource of ``graph`` in ``aws``; see the module docstring."""
    deployment = Deployment(graph=graph, aws=aws)
    deployment.replacements.update(aws.deploy_state.setdefault("replacements", {}))
    deployer = Deployer(deployment)
    for resource in creation_order(graph.resources):
        if not resource.custom or resource.type.startswith("pulumi:"):
            continue
        create = handler(resource.type)
        if create is None:
            deployment.skipped.append(resource)
            continue
        inputs = deployment.rewrite(resource.inputs)
        try:
            create(deployer, resource, inputs)
        except ClientError as exc:
            raise DeployError(f"{resource.urn}: {exc}") from exc
        except ArchiveError as exc:
            raise DeployError(str(exc)) from exc
        deployment.resources[resource.urn] = DeployedResource(
            resource=resource,
            physical_name=str(deployment.rewrite(resource.physical_name or resource.id or resource.name)),
            outputs=deployment.rewrite(resource.outputs),
        )
    aws.deploy_state["replacements"] = dict(deployment.replacements)
    return deployment


def creation_order(resources: list[Resource]) -> list[Resource]:
    """Registration order, except that a resource always follows the resources it depends on.

    Pulumi registers a resource only after its input dependencies resolved, so this is normally the identity;
    it guards against graphs assembled by hand.
    """
    by_urn = {r.urn: r for r in resources}
    placed: set[str] = set()
    ordered: list[Resource] = []

    def place(resource: Resource, trail: tuple[str, ...]) -> None:
        if resource.urn in placed:
            return
        if resource.urn in trail:
            raise DeployError(f"dependency cycle: {' -> '.join((*trail, resource.urn))}")
        deps = [*resource.dependencies, *(u for urns in resource.property_dependencies.values() for u in urns)]
        for dep in deps:
            if dep in by_urn:
                place(by_urn[dep], (*trail, resource.urn))
        placed.add(resource.urn)
        ordered.append(resource)

    for resource in resources:
        place(resource, ())
    return ordered


def _rewrite(value: Any, replacements: Mapping[str, str]) -> Any:
    if not replacements:
        return value
    if isinstance(value, str):
        for old in sorted(replacements, key=len, reverse=True):
            if old in value:
                value = value.replace(old, replacements[old])
        return value
    if isinstance(value, dict):
        return {k: _rewrite(v, replacements) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rewrite(v, replacements) for v in value]
    return value
