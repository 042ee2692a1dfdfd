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
>>> with embedded_aws(graph.region) as aws:
...     deployment = deploy(graph, aws)
...     deployment.function("daily-stats-fn").arn
'arn:aws:lambda:ap-south-1:123456789012:function:daily-stats-fn-1a2b3c4'
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
from botocore.exceptions import ClientError

from sandbox.aws import EmbeddedAws
from synth.graph import Graph, Resource

_LOG = logging.getLogger("sandbox.deploy")
_EPOCH = (1980, 1, 1, 0, 0, 0)

T_BUCKET = "aws:s3/bucket:Bucket"
T_FUNCTION = "aws:lambda/function:Function"
T_LAYER = "aws:lambda/layerVersion:LayerVersion"
T_TABLE = "aws:dynamodb/table:Table"
T_QUEUE = "aws:sqs/queue:Queue"
T_KEY = "aws:kms/key:Key"
T_ROLE = "aws:iam/role:Role"
T_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
T_STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
T_RULE = "aws:cloudwatch/eventRule:EventRule"
T_SCHEDULE = "aws:scheduler/schedule:Schedule"
T_TOPIC = "aws:sns/topic:Topic"
T_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


class DeployError(RuntimeError):
    """A resource could not be created; the message names its URN and the AWS error."""


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
    deployer = _Deployer(deployment)
    for resource in creation_order(graph.resources):
        if not resource.custom or resource.type.startswith("pulumi:"):
            continue
        handler = _HANDLERS.get(_normalise(resource.type))
        if handler is None:
            deployment.skipped.append(resource)
            continue
        inputs = deployment.rewrite(resource.inputs)
        try:
            handler(deployer, resource, inputs)
        except ClientError as exc:
            raise DeployError(f"{resource.urn}: {exc}") from exc
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


def _normalise(type_token: str) -> str:
    """Map the deprecated ``*V2`` S3 side-resource tokens onto their current names."""
    module, _, name = type_token.rpartition(":")
    if module.startswith("aws:s3/") and name.endswith("V2"):
        base = name[:-2]
        return f"aws:s3/{base[0].lower()}{base[1:]}:{base}"
    return type_token


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


# --------------------------------------------------------------------------------------------------
# Helpers for inputs
# --------------------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values and empty containers (boto3 rejects ``None``)."""
    return {k: v for k, v in mapping.items() if v is not None and v != {} and v != []}


def _json_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _tags_kv(tags: Mapping[str, Any] | None, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: str(k), value: str(v)} for k, v in sorted((tags or {}).items())]


def _exists(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return ("AlreadyExists" in code or "AlreadyOwnedByYou" in code or code in {
        "ResourceInUseException", "ResourceConflictException", "EntityAlreadyExists", "ConflictException",
        "QueueAlreadyExists", "ResourceAlreadyExistsException", "StateMachineAlreadyExists",
    } or "already exists" in message.lower())


def archive_bytes(archive: Any, *, what: str) -> bytes:
    """The zip Pulumi would upload for ``archive`` (a zip ``FileArchive``, a directory, or an ``AssetArchive``)."""
    if isinstance(archive, pulumi.FileArchive):
        path = Path(str(archive.path))
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise DeployError(f"{what}: {path} is not a zip file (only zip archives are supported)")
            return path.read_bytes()
        if path.is_dir():
            return _zip_entries(_dir_entries(path, ""))
        raise DeployError(f"{what}: archive path {path} does not exist (cwd {os.getcwd()})")
    if isinstance(archive, pulumi.AssetArchive):
        return _zip_entries(_asset_entries(archive.assets, "", what))
    raise DeployError(f"{what}: unsupported code archive {archive!r}")


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
            raise DeployError(f"{what}: unsupported archive member {name!r}: {asset!r}")


def _zip_entries(entries: Iterator[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _asset_bytes(inputs: Mapping[str, Any], what: str) -> bytes:
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


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --------------------------------------------------------------------------------------------------
# Per-type creation
# --------------------------------------------------------------------------------------------------


class _Deployer:
    def __init__(self, deployment: Deployment) -> None:
        self.d = deployment
        self.aws = deployment.aws
        self.state = deployment.aws.deploy_state

    def client(self, service: str) -> Any:
        return self.aws.client(service, region=self.d.region)

    def replace(self, old: Any, new: Any) -> None:
        if old and new and str(old) != str(new):
            self.d.replacements[str(old)] = str(new)

    # ---------------------------------------------------------------- KMS
    def kms_key(self, res: Resource, inputs: dict[str, Any]) -> None:
        kms = self.client("kms")
        known: dict[str, str] = self.state.setdefault("kms_keys", {})
        key_id = known.get(res.urn)
        if key_id is None:
            spec = inputs.get("customerMasterKeySpec") or inputs.get("keySpec")
            created = kms.create_key(**_compact({
                "Description": inputs.get("description") or "",
                "KeyUsage": inputs.get("keyUsage"),
                "KeySpec": spec,
                "Policy": _json_text(inputs.get("policy")),
                "MultiRegion": inputs.get("multiRegion"),
                "Tags": _tags_kv(inputs.get("tags"), "TagKey", "TagValue"),
            }))["KeyMetadata"]
            key_id = str(created["KeyId"])
            known[res.urn] = key_id
            if inputs.get("enableKeyRotation"):
                kms.enable_key_rotation(KeyId=key_id)
        arn = str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        self.replace(res.outputs.get("arn"), arn)
        self.replace(res.outputs.get("keyId") or res.id, key_id)

    def kms_alias(self, res: Resource, inputs: dict[str, Any]) -> None:
        kms = self.client("kms")
        name = str(res.outputs.get("name") or inputs.get("name"))
        try:
            kms.create_alias(AliasName=name, TargetKeyId=str(inputs["targetKeyId"]))
        except ClientError as exc:
            if not _exists(exc):
                raise
            kms.update_alias(AliasName=name, TargetKeyId=str(inputs["targetKeyId"]))

    # ---------------------------------------------------------------- S3
    def bucket(self, res: Resource, inputs: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name = str(res.outputs.get("bucket") or res.id)
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.d.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.d.region}
        if inputs.get("objectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            if not _exists(exc):
                raise
        if inputs.get("tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags_kv(inputs["tags"])})

    def bucket_versioning(self, res: Resource, inputs: dict[str, Any]) -> None:
        config = inputs.get("versioningConfiguration") or {}
        self.client("s3").put_bucket_versioning(Bucket=str(inputs["bucket"]), VersioningConfiguration=_compact({
            "Status": config.get("status") or "Enabled", "MFADelete": config.get("mfaDelete")}))

    def bucket_encryption(self, res: Resource, inputs: dict[str, Any]) -> None:
        rules = []
        for rule in inputs.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            rules.append(_compact({
                "ApplyServerSideEncryptionByDefault": _compact({
                    "SSEAlgorithm": default.get("sseAlgorithm"), "KMSMasterKeyID": default.get("kmsMasterKeyId")}),
                "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
            }))
        self.client("s3").put_bucket_encryption(Bucket=str(inputs["bucket"]),
                                                ServerSideEncryptionConfiguration={"Rules": rules})

    def bucket_public_access_block(self, res: Resource, inputs: dict[str, Any]) -> None:
        self.client("s3").put_public_access_block(Bucket=str(inputs["bucket"]), PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(inputs.get("blockPublicAcls")),
            "IgnorePublicAcls": bool(inputs.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(inputs.get("blockPublicPolicy")),
            "RestrictPublicBuckets": bool(inputs.get("restrictPublicBuckets")),
        })

    def bucket_ownership(self, res: Resource, inputs: dict[str, Any]) -> None:
        rule = inputs.get("rule") or {}
        self.client("s3").put_bucket_ownership_controls(Bucket=str(inputs["bucket"]), OwnershipControls={
            "Rules": [{"ObjectOwnership": rule.get("objectOwnership") or "BucketOwnerEnforced"}]})

    def bucket_policy(self, res: Resource, inputs: dict[str, Any]) -> None:
        self.client("s3").put_bucket_policy(Bucket=str(inputs["bucket"]), Policy=_json_text(inputs["policy"]))

    def bucket_notification(self, res: Resource, inputs: dict[str, Any]) -> None:
        def filters(item: Mapping[str, Any]) -> dict[str, Any]:
            rules = [{"Name": n, "Value": item[k]} for n, k in (("prefix", "filterPrefix"),
                                                                 ("suffix", "filterSuffix")) if item.get(k)]
            return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

        config: dict[str, Any] = {}
        if inputs.get("eventbridge"):
            config["EventBridgeConfiguration"] = {}
        for key, out_key, arn_key, arn_out in (
                ("lambdaFunctions", "LambdaFunctionConfigurations", "lambdaFunctionArn", "LambdaFunctionArn"),
                ("queues", "QueueConfigurations", "queueArn", "QueueArn"),
                ("topics", "TopicConfigurations", "topicArn", "TopicArn")):
            items = inputs.get(key) or []
            if items:
                config[out_key] = [_compact({"Id": item.get("id"), arn_out: item[arn_key],
                                             "Events": list(item.get("events") or []), **filters(item)})
                                   for item in items]
        self.client("s3").put_bucket_notification_configuration(Bucket=str(inputs["bucket"]),
                                                                NotificationConfiguration=config)

    def bucket_lifecycle(self, res: Resource, inputs: dict[str, Any]) -> None:
        rules = []
        for rule in inputs.get("rules") or []:
            flt = rule.get("filter") or {}
            out: dict[str, Any] = {"ID": rule.get("id") or "rule", "Status": rule.get("status") or "Enabled",
                                   "Filter": _compact({"Prefix": flt.get("prefix")}) or {"Prefix": rule.get("prefix")
                                                                                         or ""}}
            if rule.get("expiration"):
                out["Expiration"] = _compact({"Days": _int(rule["expiration"].get("days"))})
            if rule.get("noncurrentVersionExpiration"):
                out["NoncurrentVersionExpiration"] = _compact({
                    "NoncurrentDays": _int(rule["noncurrentVersionExpiration"].get("noncurrentDays"))})
            if rule.get("abortIncompleteMultipartUpload"):
                out["AbortIncompleteMultipartUpload"] = _compact({
                    "DaysAfterInitiation": _int(rule["abortIncompleteMultipartUpload"].get("daysAfterInitiation"))})
            if rule.get("transitions"):
                out["Transitions"] = [_compact({"Days": _int(t.get("days")), "StorageClass": t.get("storageClass")})
                                      for t in rule["transitions"]]
            rules.append(out)
        self.client("s3").put_bucket_lifecycle_configuration(Bucket=str(inputs["bucket"]),
                                                             LifecycleConfiguration={"Rules": rules})

    def bucket_object(self, res: Resource, inputs: dict[str, Any]) -> None:
        key = str(inputs.get("key") or res.outputs.get("key") or res.name)
        self.client("s3").put_object(**_compact({
            "Bucket": str(inputs["bucket"]), "Key": key, "Body": _asset_bytes(inputs, res.urn),
            "ContentType": inputs.get("contentType"), "ServerSideEncryption": inputs.get("serverSideEncryption"),
            "SSEKMSKeyId": inputs.get("kmsKeyId"), "Metadata": inputs.get("metadata"),
        }))

    # ---------------------------------------------------------------- DynamoDB
    def table(self, res: Resource, inputs: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        name = str(res.outputs.get("name") or res.id)
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        billing = inputs.get("billingMode") or "PROVISIONED"
        throughput = {"ReadCapacityUnits": _int(inputs.get("readCapacity")) or 1,
                      "WriteCapacityUnits": _int(inputs.get("writeCapacity")) or 1}

        def index(ix: Mapping[str, Any], gsi: bool) -> dict[str, Any]:
            schema = [{"AttributeName": ix["hashKey"], "KeyType": "HASH"}] if ix.get("hashKey") else []
            if ix.get("rangeKey"):
                schema.append({"AttributeName": ix["rangeKey"], "KeyType": "RANGE"})
            out: dict[str, Any] = {"IndexName": ix["name"], "KeySchema": schema, "Projection": _compact({
                "ProjectionType": ix.get("projectionType") or "ALL",
                "NonKeyAttributes": list(ix.get("nonKeyAttributes") or [])})}
            if gsi and billing == "PROVISIONED":
                out["ProvisionedThroughput"] = {"ReadCapacityUnits": _int(ix.get("readCapacity")) or 1,
                                                "WriteCapacityUnits": _int(ix.get("writeCapacity")) or 1}
            return out

        sse = inputs.get("serverSideEncryption") or {}
        kwargs = _compact({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                     for a in inputs.get("attributes") or []],
            "KeySchema": keys,
            "BillingMode": billing,
            "ProvisionedThroughput": throughput if billing == "PROVISIONED" else None,
            "GlobalSecondaryIndexes": [index(ix, True) for ix in inputs.get("globalSecondaryIndexes") or []],
            "LocalSecondaryIndexes": [index(ix, False) for ix in inputs.get("localSecondaryIndexes") or []],
            "StreamSpecification": ({"StreamEnabled": True, "StreamViewType": inputs.get("streamViewType")}
                                    if inputs.get("streamEnabled") else None),
            "SSESpecification": (_compact({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": sse.get("kmsKeyArn")})
                                 if sse.get("enabled") else None),
            "Tags": _tags_kv(inputs.get("tags")),
            "DeletionProtectionEnabled": inputs.get("deletionProtectionEnabled"),
        })
        try:
            ddb.create_table(**kwargs)
        except ClientError as exc:
            if not _exists(exc):
                raise
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            try:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["attributeName"]})
            except ClientError as exc:  # already enabled on a second deploy
                if "already enabled" not in str(exc):
                    raise
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})

    # ---------------------------------------------------------------- SQS / SNS
    _QUEUE_ATTRIBUTES = {
        "delaySeconds": "DelaySeconds", "maxMessageSize": "MaximumMessageSize",
        "messageRetentionSeconds": "MessageRetentionPeriod", "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "visibilityTimeoutSeconds": "VisibilityTimeout", "redrivePolicy": "RedrivePolicy",
        "redriveAllowPolicy": "RedriveAllowPolicy", "kmsMasterKeyId": "KmsMasterKeyId",
        "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
        "contentBasedDeduplication": "ContentBasedDeduplication", "deduplicationScope": "DeduplicationScope",
        "fifoThroughputLimit": "FifoThroughputLimit", "policy": "Policy",
    }

    def queue(self, res: Resource, inputs: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        name = str(res.outputs.get("name"))
        attributes: dict[str, str] = {}
        for key, attr in self._QUEUE_ATTRIBUTES.items():
            value = inputs.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                attributes[attr] = "true" if value else "false"
            elif isinstance(value, float) and value.is_integer():
                attributes[attr] = str(int(value))
            else:
                attributes[attr] = _json_text(value) or ""
        if inputs.get("fifoQueue"):
            attributes["FifoQueue"] = "true"
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes,
                                   tags={str(k): str(v) for k, v in (inputs.get("tags") or {}).items()})["QueueUrl"]
        except ClientError as exc:
            if not _exists(exc):
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            if attributes:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        self.replace(res.outputs.get("url") or res.id, url)

    def queue_policy(self, res: Resource, inputs: dict[str, Any]) -> None:
        self.client("sqs").set_queue_attributes(QueueUrl=str(inputs["queueUrl"]),
                                                Attributes={"Policy": _json_text(inputs["policy"]) or ""})

    def topic(self, res: Resource, inputs: dict[str, Any]) -> None:
        attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in {
            "KmsMasterKeyId": inputs.get("kmsMasterKeyId"), "FifoTopic": inputs.get("fifoTopic") or None,
            "Policy": _json_text(inputs.get("policy")), "DisplayName": inputs.get("displayName"),
        }.items() if v is not None}
        arn = self.client("sns").create_topic(Name=str(res.outputs.get("name")), Attributes=attributes,
                                              Tags=_tags_kv(inputs.get("tags")))["TopicArn"]
        self.replace(res.outputs.get("arn"), arn)

    def topic_subscription(self, res: Resource, inputs: dict[str, Any]) -> None:
        self.client("sns").subscribe(TopicArn=str(inputs["topic"]), Protocol=str(inputs["protocol"]),
                                     Endpoint=str(inputs["endpoint"]))

    # ---------------------------------------------------------------- IAM
    def role(self, res: Resource, inputs: dict[str, Any]) -> None:
        iam = self.client("iam")
        name = str(res.outputs.get("name") or res.id)
        try:
            iam.create_role(**_compact({
                "RoleName": name, "AssumeRolePolicyDocument": _json_text(inputs.get("assumeRolePolicy")),
                "Path": inputs.get("path"), "Description": inputs.get("description"),
                "MaxSessionDuration": _int(inputs.get("maxSessionDuration")),
                "Tags": _tags_kv(inputs.get("tags")),
            }))
        except ClientError as exc:
            if not _exists(exc):
                raise
            iam.update_assume_role_policy(RoleName=name,
                                          PolicyDocument=_json_text(inputs.get("assumeRolePolicy")) or "{}")
        for inline in inputs.get("inlinePolicies") or []:
            if inline.get("name") and inline.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=inline["name"],
                                    PolicyDocument=_json_text(inline["policy"]))
        for arn in inputs.get("managedPolicyArns") or []:
            self._attach(name, str(arn))

    def _attach(self, role: str, policy_arn: str) -> None:
        try:
            self.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
        except ClientError as exc:
            if ":aws:policy/" not in policy_arn:
                raise
            self.d.warnings.append(f"AWS managed policy {policy_arn} is not loaded in the sandbox; "
                                   f"not attached to {role} ({exc.response['Error']['Code']})")

    def role_policy(self, res: Resource, inputs: dict[str, Any]) -> None:
        role = str(inputs["role"]).rsplit("/", 1)[-1]
        self.client("iam").put_role_policy(RoleName=role, PolicyName=str(res.outputs.get("name")),
                                           PolicyDocument=_json_text(inputs["policy"]))

    def policy(self, res: Resource, inputs: dict[str, Any]) -> None:
        iam = self.client("iam")
        try:
            arn = iam.create_policy(**_compact({
                "PolicyName": str(res.outputs.get("name")), "Path": inputs.get("path"),
                "PolicyDocument": _json_text(inputs["policy"]), "Description": inputs.get("description"),
            }))["Policy"]["Arn"]
            self.replace(res.outputs.get("arn"), arn)
        except ClientError as exc:
            if not _exists(exc):
                raise

    def role_policy_attachment(self, res: Resource, inputs: dict[str, Any]) -> None:
        self._attach(str(inputs["role"]).rsplit("/", 1)[-1], str(inputs["policyArn"]))

    # ---------------------------------------------------------------- CloudWatch
    def log_group(self, res: Resource, inputs: dict[str, Any]) -> None:
        logs = self.client("logs")
        name = str(res.outputs.get("name") or res.id)
        try:
            logs.create_log_group(**_compact({
                "logGroupName": name, "kmsKeyId": inputs.get("kmsKeyId"),
                "tags": {str(k): str(v) for k, v in (inputs.get("tags") or {}).items()},
            }))
        except ClientError as exc:
            if not _exists(exc):
                raise
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))

    def metric_alarm(self, res: Resource, inputs: dict[str, Any]) -> None:
        def metric(query: Mapping[str, Any]) -> dict[str, Any]:
            out = _compact({"Id": query["id"], "Expression": query.get("expression"), "Label": query.get("label"),
                            "ReturnData": query.get("returnData"), "Period": _int(query.get("period"))})
            stat = query.get("metric")
            if stat:
                out["MetricStat"] = _compact({
                    "Metric": _compact({"Namespace": stat.get("namespace"), "MetricName": stat.get("metricName"),
                                        "Dimensions": [{"Name": k, "Value": str(v)}
                                                       for k, v in sorted((stat.get("dimensions") or {}).items())]}),
                    "Period": _int(stat.get("period")), "Stat": stat.get("stat"), "Unit": stat.get("unit")})
            return out

        self.client("cloudwatch").put_metric_alarm(**_compact({
            "AlarmName": str(res.outputs.get("name") or res.id),
            "AlarmDescription": inputs.get("alarmDescription"),
            "ActionsEnabled": inputs.get("actionsEnabled"),
            "AlarmActions": list(inputs.get("alarmActions") or []),
            "OKActions": list(inputs.get("okActions") or []),
            "InsufficientDataActions": list(inputs.get("insufficientDataActions") or []),
            "MetricName": inputs.get("metricName"), "Namespace": inputs.get("namespace"),
            "Statistic": inputs.get("statistic"), "ExtendedStatistic": inputs.get("extendedStatistic"),
            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in sorted((inputs.get("dimensions") or {}).items())],
            "Period": _int(inputs.get("period")), "Unit": inputs.get("unit"),
            "EvaluationPeriods": _int(inputs.get("evaluationPeriods")) or 1,
            "DatapointsToAlarm": _int(inputs.get("datapointsToAlarm")),
            "Threshold": float(inputs["threshold"]) if inputs.get("threshold") is not None else None,
            "ComparisonOperator": inputs.get("comparisonOperator"),
            "TreatMissingData": inputs.get("treatMissingData"),
            "Metrics": [metric(q) for q in inputs.get("metricQueries") or []],
            "Tags": _tags_kv(inputs.get("tags")),
        }))

    def dashboard(self, res: Resource, inputs: dict[str, Any]) -> None:
        self.client("cloudwatch").put_dashboard(DashboardName=str(res.outputs.get("dashboardName") or res.id),
                                                DashboardBody=_json_text(inputs.get("dashboardBody")) or "{}")

    # ---------------------------------------------------------------- Lambda
    def layer_version(self, res: Resource, inputs: dict[str, Any]) -> None:
        name = str(inputs.get("layerName") or res.name)
        content: dict[str, Any]
        if inputs.get("code") is not None:
            data = archive_bytes(inputs["code"], what=res.urn)
            content = {"ZipFile": data}
            digest = hashlib.sha256(data).hexdigest()
        else:
            content = _compact({"S3Bucket": inputs.get("s3Bucket"), "S3Key": inputs.get("s3Key"),
                                "S3ObjectVersion": inputs.get("s3ObjectVersion")})
            digest = json.dumps(content, sort_keys=True)
        known: dict[str, tuple[str, str]] = self.state.setdefault("layers", {})
        previous = known.get(res.urn)
        if previous and previous[0] == digest:
            arn = previous[1]
        else:
            self._check_hash(res, inputs, content.get("ZipFile"))
            arn = self.client("lambda").publish_layer_version(**_compact({
                "LayerName": name, "Content": content, "Description": inputs.get("description"),
                "CompatibleRuntimes": list(inputs.get("compatibleRuntimes") or []),
                "CompatibleArchitectures": list(inputs.get("compatibleArchitectures") or []),
                "LicenseInfo": inputs.get("licenseInfo"),
            }))["LayerVersionArn"]
            known[res.urn] = (digest, arn)
        self.replace(res.outputs.get("arn") or res.id, arn)

    def _check_hash(self, res: Resource, inputs: Mapping[str, Any], data: bytes | None) -> None:
        declared = inputs.get("sourceCodeHash")
        if data is None or not declared:
            return
        actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
        if declared != actual:
            self.d.warnings.append(f"{res.urn}: sourceCodeHash {declared} does not match the archive "
                                   f"({actual}); `pulumi up` would show a diff on every run")

    def function(self, res: Resource, inputs: dict[str, Any]) -> None:
        lam = self.client("lambda")
        name = str(res.outputs.get("name") or res.outputs.get("functionName") or res.id)
        if inputs.get("code") is not None:
            data = archive_bytes(inputs["code"], what=res.urn)
            self._check_hash(res, inputs, data)
            code: dict[str, Any] = {"ZipFile": data}
        elif inputs.get("s3Bucket"):
            code = _compact({"S3Bucket": inputs["s3Bucket"], "S3Key": inputs.get("s3Key"),
                             "S3ObjectVersion": inputs.get("s3ObjectVersion")})
        else:
            raise DeployError(f"{res.urn}: only zip functions (code or s3Bucket/s3Key) are supported")
        logging_config = inputs.get("loggingConfig") or {}
        dead_letter = (inputs.get("deadLetterConfig") or {}).get("targetArn")
        config = _compact({
            "Role": inputs.get("role"), "Handler": inputs.get("handler"), "Runtime": inputs.get("runtime"),
            "Description": inputs.get("description"), "Timeout": _int(inputs.get("timeout")) or 3,
            "MemorySize": _int(inputs.get("memorySize")) or 128,
            "Environment": {"Variables": {str(k): str(v) for k, v in
                                          ((inputs.get("environment") or {}).get("variables") or {}).items()}},
            "KMSKeyArn": inputs.get("kmsKeyArn"),
            "TracingConfig": _compact({"Mode": (inputs.get("tracingConfig") or {}).get("mode")}),
            "Layers": [str(layer) for layer in inputs.get("layers") or []],
            "EphemeralStorage": _compact({"Size": _int((inputs.get("ephemeralStorage") or {}).get("size"))}),
            "DeadLetterConfig": _compact({"TargetArn": dead_letter}),
            "LoggingConfig": _compact({"LogFormat": logging_config.get("logFormat"),
                                       "LogGroup": logging_config.get("logGroup"),
                                       "ApplicationLogLevel": logging_config.get("applicationLogLevel"),
                                       "SystemLogLevel": logging_config.get("systemLogLevel")}),
        })
        try:
            lam.create_function(FunctionName=name, Code=code, Architectures=list(inputs.get("architectures")
                                                                                 or ["x86_64"]),
                                PackageType="Zip", Tags={str(k): str(v) for k, v in (inputs.get("tags") or {}).items()},
                                **config)
        except ClientError as exc:
            if not _exists(exc):
                raise
            lam.update_function_code(FunctionName=name, **code)
            lam.update_function_configuration(FunctionName=name, **config)
        reserved = _int(inputs.get("reservedConcurrentExecutions"))
        if reserved is not None and reserved >= 0:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        if config.get("LoggingConfig"):
            self.aws.function_logging[name] = {k: str(v) for k, v in config["LoggingConfig"].items()}
        if dead_letter:
            self.aws.function_dead_letters[name] = str(dead_letter)

    def function_event_invoke_config(self, res: Resource, inputs: dict[str, Any]) -> None:
        destinations = inputs.get("destinationConfig") or {}
        config = _compact({
            "OnSuccess": _compact({"Destination": (destinations.get("onSuccess") or {}).get("destination")}),
            "OnFailure": _compact({"Destination": (destinations.get("onFailure") or {}).get("destination")}),
        })
        self.client("lambda").put_function_event_invoke_config(**_compact({
            "FunctionName": str(inputs["functionName"]), "Qualifier": inputs.get("qualifier"),
            "MaximumRetryAttempts": _int(inputs.get("maximumRetryAttempts")),
            "MaximumEventAgeInSeconds": _int(inputs.get("maximumEventAgeInSeconds")),
            "DestinationConfig": config,
        }))

    def permission(self, res: Resource, inputs: dict[str, Any]) -> None:
        try:
            self.client("lambda").add_permission(**_compact({
                "FunctionName": str(inputs["function"]), "StatementId": str(res.outputs.get("statementId")),
                "Action": inputs.get("action"), "Principal": inputs.get("principal"),
                "SourceArn": inputs.get("sourceArn"), "SourceAccount": inputs.get("sourceAccount"),
                "Qualifier": inputs.get("qualifier"),
            }))
        except ClientError as exc:
            if not _exists(exc):
                raise

    # ---------------------------------------------------------------- Step Functions
    def state_machine(self, res: Resource, inputs: dict[str, Any]) -> None:
        sfn = self.client("stepfunctions")
        name = str(res.outputs.get("name"))
        definition = _json_text(inputs["definition"]) or "{}"
        logging_in = inputs.get("loggingConfiguration") or {}
        logging_config = _compact({
            "level": logging_in.get("level"), "includeExecutionData": logging_in.get("includeExecutionData"),
            "destinations": ([{"cloudWatchLogsLogGroup": {"logGroupArn": logging_in["logDestination"]}}]
                             if logging_in.get("logDestination") else None),
        })
        tracing = _compact({"enabled": (inputs.get("tracingConfiguration") or {}).get("enabled")})
        try:
            arn = sfn.create_state_machine(**_compact({
                "name": name, "definition": definition, "roleArn": inputs.get("roleArn"),
                "type": inputs.get("type") or "STANDARD", "loggingConfiguration": logging_config,
                "tracingConfiguration": tracing,
                "tags": [{"key": str(k), "value": str(v)} for k, v in sorted((inputs.get("tags") or {}).items())],
            }))["stateMachineArn"]
        except ClientError as exc:
            if not _exists(exc):
                raise
            arn = str(res.outputs.get("arn") or res.id)
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=str(inputs["roleArn"]))
        self.replace(res.outputs.get("arn") or res.id, arn)

    # ---------------------------------------------------------------- EventBridge / Scheduler
    def event_rule(self, res: Resource, inputs: dict[str, Any]) -> None:
        state = inputs.get("state") or ("DISABLED" if inputs.get("isEnabled") is False else "ENABLED")
        bus = inputs.get("eventBusName")
        self.client("events").put_rule(**_compact({
            "Name": str(res.outputs.get("name")), "EventPattern": _json_text(inputs.get("eventPattern")),
            "ScheduleExpression": inputs.get("scheduleExpression"), "State": state,
            "Description": inputs.get("description"), "RoleArn": inputs.get("roleArn"),
            "EventBusName": bus if bus and bus != "default" else None, "Tags": _tags_kv(inputs.get("tags")),
        }))

    def event_target(self, res: Resource, inputs: dict[str, Any]) -> None:
        transformer = inputs.get("inputTransformer") or {}
        retry = inputs.get("retryPolicy") or {}
        target = _compact({
            "Id": str(res.outputs.get("targetId") or inputs.get("targetId")), "Arn": inputs["arn"],
            "RoleArn": inputs.get("roleArn"), "Input": inputs.get("input"), "InputPath": inputs.get("inputPath"),
            "InputTransformer": _compact({"InputPathsMap": transformer.get("inputPaths"),
                                          "InputTemplate": transformer.get("inputTemplate")}),
            "DeadLetterConfig": _compact({"Arn": (inputs.get("deadLetterConfig") or {}).get("arn")}),
            "RetryPolicy": _compact({"MaximumRetryAttempts": _int(retry.get("maximumRetryAttempts")),
                                     "MaximumEventAgeInSeconds": _int(retry.get("maximumEventAgeInSeconds"))}),
            "SqsParameters": _compact({"MessageGroupId": (inputs.get("sqsTarget") or {}).get("messageGroupId")}),
        })
        bus = inputs.get("eventBusName")
        response = self.client("events").put_targets(**_compact({
            "Rule": str(inputs["rule"]), "EventBusName": bus if bus and bus != "default" else None,
            "Targets": [target]}))
        if response.get("FailedEntryCount"):
            raise DeployError(f"{res.urn}: put_targets failed: {response['FailedEntries']}")

    def schedule_group(self, res: Resource, inputs: dict[str, Any]) -> None:
        try:
            self.client("scheduler").create_schedule_group(Name=str(res.outputs.get("name")),
                                                           Tags=_tags_kv(inputs.get("tags")))
        except ClientError as exc:
            if not _exists(exc):
                raise

    def schedule(self, res: Resource, inputs: dict[str, Any]) -> None:
        scheduler = self.client("scheduler")
        target_in = inputs.get("target") or {}
        retry = target_in.get("retryPolicy") or {}
        window = inputs.get("flexibleTimeWindow") or {"mode": "OFF"}
        kwargs = _compact({
            "Name": str(res.outputs.get("name")), "GroupName": inputs.get("groupName"),
            "ScheduleExpression": inputs.get("scheduleExpression"),
            "ScheduleExpressionTimezone": inputs.get("scheduleExpressionTimezone"),
            "Description": inputs.get("description"), "State": inputs.get("state") or "ENABLED",
            "StartDate": _datetime(inputs.get("startDate")), "EndDate": _datetime(inputs.get("endDate")),
            "KmsKeyArn": inputs.get("kmsKeyArn"), "ActionAfterCompletion": inputs.get("actionAfterCompletion"),
            "FlexibleTimeWindow": _compact({"Mode": window.get("mode") or "OFF",
                                            "MaximumWindowInMinutes": _int(window.get("maximumWindowInMinutes"))}),
            "Target": _compact({
                "Arn": target_in.get("arn"), "RoleArn": target_in.get("roleArn"), "Input": target_in.get("input"),
                "RetryPolicy": _compact({"MaximumRetryAttempts": _int(retry.get("maximumRetryAttempts")),
                                         "MaximumEventAgeInSeconds": _int(retry.get("maximumEventAgeInSeconds"))}),
                "DeadLetterConfig": _compact({"Arn": (target_in.get("deadLetterConfig") or {}).get("arn")}),
            }),
        })
        try:
            scheduler.create_schedule(**kwargs)
        except ClientError as exc:
            if not _exists(exc):
                raise
            scheduler.update_schedule(**kwargs)


_HANDLERS: dict[str, Callable[[_Deployer, Resource, dict[str, Any]], None]] = {
    T_KEY: _Deployer.kms_key,
    "aws:kms/alias:Alias": _Deployer.kms_alias,
    T_BUCKET: _Deployer.bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _Deployer.bucket_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        _Deployer.bucket_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _Deployer.bucket_public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _Deployer.bucket_ownership,
    "aws:s3/bucketPolicy:BucketPolicy": _Deployer.bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": _Deployer.bucket_notification,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _Deployer.bucket_lifecycle,
    "aws:s3/bucketObjectv2:BucketObjectv2": _Deployer.bucket_object,
    "aws:s3/bucketObject:BucketObject": _Deployer.bucket_object,
    T_TABLE: _Deployer.table,
    T_QUEUE: _Deployer.queue,
    "aws:sqs/queuePolicy:QueuePolicy": _Deployer.queue_policy,
    T_TOPIC: _Deployer.topic,
    "aws:sns/topicSubscription:TopicSubscription": _Deployer.topic_subscription,
    T_ROLE: _Deployer.role,
    "aws:iam/rolePolicy:RolePolicy": _Deployer.role_policy,
    "aws:iam/policy:Policy": _Deployer.policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _Deployer.role_policy_attachment,
    T_LOG_GROUP: _Deployer.log_group,
    T_ALARM: _Deployer.metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _Deployer.dashboard,
    T_LAYER: _Deployer.layer_version,
    T_FUNCTION: _Deployer.function,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _Deployer.function_event_invoke_config,
    "aws:lambda/permission:Permission": _Deployer.permission,
    T_STATE_MACHINE: _Deployer.state_machine,
    T_RULE: _Deployer.event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _Deployer.event_target,
    "aws:scheduler/scheduleGroup:ScheduleGroup": _Deployer.schedule_group,
    T_SCHEDULE: _Deployer.schedule,
}

SUPPORTED_TYPES: tuple[str, ...] = tuple(sorted(_HANDLERS))
