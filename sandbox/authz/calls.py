"""From one AWS API call to the IAM requests AWS authorizes for it, implicit KMS calls included.

:func:`authorizations` turns an :class:`ApiCall` (boto3 service, operation, parameters) made by a
:class:`~sandbox.authz.policy.Principal` into :class:`~sandbox.authz.policy.AuthRequest` values: the
action(s) and resource ARN from AWS's service authorization data (:mod:`sandbox.authz.catalog`), the global
condition keys every request carries (``aws:SecureTransport``, ``aws:RequestedRegion``, ``aws:CurrentTime``
...) and the service keys the request's parameters give (``s3:prefix``).

Some calls make the service call KMS *as the caller* (the caller needs the KMS permission, checked against
its identity policies and the key policy), with ``kms:ViaService`` and the encryption context set:

* S3 ``PutObject`` (and multipart uploads, copies) into a bucket or with a request that uses SSE-KMS:
  ``kms:GenerateDataKey``; ``GetObject``/``HeadObject`` of an SSE-KMS object and multipart uploads:
  ``kms:Decrypt``; the context is ``aws:s3:arn`` = the object ARN (the bucket ARN with an S3 Bucket Key);
* SQS ``SendMessage`` to a KMS-encrypted queue: ``kms:GenerateDataKey`` and ``kms:Decrypt``;
  ``ReceiveMessage``: ``kms:Decrypt`` (context ``aws:sqs:arn``);
* SNS ``Publish`` to a KMS-encrypted topic: ``kms:GenerateDataKey`` and ``kms:Decrypt``;
* DynamoDB item reads and writes (``GetItem``, ``PutItem``, ``UpdateItem``, ``Query`` ...) on a table encrypted
  with a KMS key: ``kms:Decrypt`` of the table key (context ``aws:dynamodb:tableName`` and
  ``aws:dynamodb:subscriberId``). AWS caches the decrypted table key for a few minutes per connection, so it
  asks less often; the permission is needed all the same (AWS's ``aws/dynamodb`` key policy admits every
  principal of the account *via DynamoDB* for this reason).

CloudWatch Logs uses a key with its own service principal, not the caller's permissions, so it adds nothing.
What the service stores (which key encrypts a bucket, an object, a queue, a table) comes from a
:class:`ResourceFacts` the embedded AWS implements.

Example
-------
>>> p = Principal("arn:aws:sts::1:assumed-role/r/s", role_arn="arn:aws:iam::1:role/r")
>>> [(r.action, r.resource) for r in authorizations(ApiCall("dynamodb", "GetItem", {"TableName": "t"}, "r", "1"), p)]
[('dynamodb:GetItem', 'arn:aws:dynamodb:r:1:table/t')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.authz import catalog
from sandbox.authz.conditions import now_context
from sandbox.authz.policy import AuthRequest, Principal


class ResourceFacts(Protocol):
    """What the embedded AWS knows about stored resources that decides implicit KMS calls."""

    def kms_key_arn(self, key_id: str, region: str) -> str | None:
        """A key id, key ARN, alias name or alias ARN -> the key's ARN (None if unknown)."""

    def bucket_encryption(self, bucket: str) -> tuple[str | None, bool]:
        """(KMS key id/ARN of the bucket's default SSE-KMS, or None; S3 Bucket Key on?)"""

    def object_kms_key(self, bucket: str, key: str, version_id: str | None) -> str | None:
        """The KMS key an existing object is encrypted with (None for SSE-S3 or no such object)."""

    def queue_kms_key(self, queue_url: str) -> str | None: ...

    def topic_kms_key(self, topic_arn: str) -> str | None: ...

    def table_kms_key(self, table: str, region: str) -> str | None:
        """The KMS key a DynamoDB table is encrypted with (None for the AWS owned key)."""


class NoFacts:
    """Facts for requests judged without an embedded AWS: nothing is KMS-encrypted."""

    def kms_key_arn(self, key_id: str, region: str) -> str | None:
        return key_id if key_id.startswith("arn:") else None

    def bucket_encryption(self, bucket: str) -> tuple[str | None, bool]:
        return None, False

    def object_kms_key(self, bucket: str, key: str, version_id: str | None) -> str | None:
        return None

    def queue_kms_key(self, queue_url: str) -> str | None:
        return None

    def topic_kms_key(self, topic_arn: str) -> str | None:
        return None

    def table_kms_key(self, table: str, region: str) -> str | None:
        return None


@dataclass(frozen=True)
class ApiCall:
    """One API call as the service receives it."""

    service: str  # boto3 service name: "s3", "stepfunctions", ...
    operation: str  # botocore operation name: "GetObject", "StartExecution", ...
    params: Mapping[str, Any]
    region: str
    account: str
    secure_transport: bool = True
    source_ip: str = "127.0.0.1"
    extra_context: Mapping[str, str] = field(default_factory=dict)


def global_context(call: ApiCall) -> dict[str, str]:
    """Global condition keys present in every request. Every resource of the sandbox is in its one account, so
    that account owns the resource (``aws:ResourceAccount``, and S3's own ``s3:ResourceAccount``)."""
    return {
        "aws:SecureTransport": "true" if call.secure_transport else "false",
        "aws:RequestedRegion": call.region,
        "aws:SourceIp": call.source_ip,
        "aws:ResourceAccount": call.account,
        **({"s3:ResourceAccount": call.account} if call.service == "s3" else {}),
        **now_context(),
        **call.extra_context,
    }


def authorizations(call: ApiCall, principal: Principal, facts: ResourceFacts | None = None) -> list[AuthRequest]:
    """Every (action, resource, context) AWS authorizes for ``call`` by ``principal``, in order."""
    facts = facts or NoFacts()
    prefix = catalog.iam_prefix(call.service)
    base = global_context(call)
    requests: list[AuthRequest] = []
    if prefix == "dynamodb" and call.operation in _DYNAMODB_MULTI_TABLE:
        requests.extend(AuthRequest(principal, action, resource, base) for action, resource in _dynamodb_items(call))
    else:
        for action in catalog.privileges_for(prefix, call.operation, call.params):
            context = {**base, **catalog.request_condition_keys(call.service, call.operation, action, call.params)}
            for resource in _resources(call, prefix, action):
                requests.append(AuthRequest(principal, action, resource, context))
    requests.extend(_copy_source(call, principal, base))
    requests.extend(_implicit_kms(call, principal, facts, base))
    return requests


def _resources(call: ApiCall, prefix: str, action: str) -> list[str]:
    """The resources one action of ``call`` is authorized on: one per parameter (SSM), else the one the
    authorization data's template gives (DynamoDB's batches and transactions: :func:`_dynamodb_items`)."""
    if prefix == "ssm":
        return ssm_parameter_arns(call, action)
    return [_resource(call, prefix, action)]


def _resource(call: ApiCall, prefix: str, action: str) -> str:
    if prefix == "s3" and call.operation == "DeleteObjects":
        return f"arn:aws:s3:::{call.params.get('Bucket')}/*"
    arn = catalog.resource_arn(prefix, action, call.params, region=call.region, account=call.account)
    qualifier = call.params.get("Qualifier")
    if prefix == "lambda" and qualifier and arn.count(":") == 6:
        arn = f"{arn}:{qualifier}"
    return arn


SSM_PUBLIC_NAMESPACES = ("/aws/service/",)
"""Parameters AWS publishes to every account: their ARN has no account (``arn:aws:ssm:<region>::parameter/...``)."""


def ssm_parameter_arns(call: ApiCall, action: str) -> list[str]:
    """Parameter Store: one resource per parameter the request names (``Name``, each of ``Names``, or the
    ``Path`` a listing reads, which AWS authorizes for everything below it); other SSM operations use the
    authorization data's template.

    >>> ssm_parameter_arns(ApiCall("ssm", "GetParameters", {"Names": ["/app/db:3", "/aws/service/x"]}, "r", "1"),
    ...                    "ssm:GetParameters")
    ['arn:aws:ssm:r:1:parameter/app/db', 'arn:aws:ssm:r::parameter/aws/service/x']
    """
    params = call.params
    names = params.get("Names") if isinstance(params.get("Names"), list) else \
        [params[k] for k in ("Name", "Path") if isinstance(params.get(k), str)][:1]
    if not names:
        return [_resource(call, "ssm", action)]
    arns = []
    for name in names:
        if name.startswith("arn:"):
            arns.append(":".join(name.split(":")[:6]))  # without a version or label selector
            continue
        plain = name.split(":", 1)[0]  # a version or label selector (/app/db:3) is not part of the name
        account = "" if plain.startswith(SSM_PUBLIC_NAMESPACES) else call.account
        arns.append(f"arn:{catalog.PARTITION}:ssm:{call.region}:{account}:parameter/{plain.lstrip('/')}")
    return arns


def _copy_source(call: ApiCall, principal: Principal, base: Mapping[str, str]) -> list[AuthRequest]:
    """``CopyObject``/``UploadPartCopy`` also read the source object (``s3:GetObject[Version]``)."""
    source = call.params.get("CopySource") if call.service == "s3" else None
    if not source:
        return []
    if isinstance(source, Mapping):
        bucket, key, version = source.get("Bucket"), source.get("Key"), source.get("VersionId")
    else:
        path, _, query = str(source).lstrip("/").partition("?versionId=")
        bucket, _, key = path.partition("/")
        version = query or None
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    return [AuthRequest(principal, action, f"arn:aws:s3:::{bucket}/{key}", dict(base))]


_S3_WRITES = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
              "CompleteMultipartUpload"}
_S3_READS = {"GetObject", "HeadObject"}


def _kms(principal: Principal, action: str, key_arn: str, base: Mapping[str, str], via: str,
         encryption_context: Mapping[str, str]) -> AuthRequest:
    context: dict[str, str] = {**base, "kms:ViaService": via, "kms:CallerAccount": principal.account}
    for name, value in encryption_context.items():
        context[f"kms:EncryptionContext:{name}"] = value
    context["kms:EncryptionContextKeys"] = ",".join(sorted(encryption_context))
    request_context: dict[str, Any] = dict(context)
    request_context["kms:EncryptionContextKeys"] = sorted(encryption_context)
    return AuthRequest(principal, action, key_arn, request_context)


def _implicit_kms(call: ApiCall, principal: Principal, facts: ResourceFacts,
                  base: Mapping[str, str]) -> list[AuthRequest]:
    params = call.params
    if call.service == "s3":
        bucket, key = str(params.get("Bucket", "")), str(params.get("Key", ""))
        via = f"s3.{call.region}.amazonaws.com"
        if call.operation in _S3_WRITES:
            default_key, bucket_key = facts.bucket_encryption(bucket)
            asked = params.get("ServerSideEncryption")
            key_id = params.get("SSEKMSKeyId") or (default_key if asked in (None, "aws:kms", "aws:kms:dsse") else None)
            if asked in ("aws:kms", "aws:kms:dsse") and not key_id:
                key_id = "alias/aws/s3"
            key_arn = facts.kms_key_arn(str(key_id), call.region) if key_id else None
            if not key_arn:
                return []
            whole_bucket = bucket_key or params.get("BucketKeyEnabled")
            ctx = {"aws:s3:arn": f"arn:aws:s3:::{bucket}" if whole_bucket else f"arn:aws:s3:::{bucket}/{key}"}
            actions = ["kms:GenerateDataKey"]
            if call.operation in ("CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload"):
                actions.append("kms:Decrypt")
            return [_kms(principal, a, key_arn, base, via, ctx) for a in actions]
        if call.operation in _S3_READS:
            key_id = facts.object_kms_key(bucket, key, params.get("VersionId"))
            key_arn = facts.kms_key_arn(key_id, call.region) if key_id else None
            if not key_arn:
                return []
            _default, bucket_key = facts.bucket_encryption(bucket)
            arn = f"arn:aws:s3:::{bucket}" if bucket_key else f"arn:aws:s3:::{bucket}/{key}"
            return [_kms(principal, "kms:Decrypt", key_arn, base, via, {"aws:s3:arn": arn})]
        return []
    if call.service == "sqs" and call.operation in ("SendMessage", "SendMessageBatch", "ReceiveMessage"):
        key_id = facts.queue_kms_key(str(params.get("QueueUrl", "")))
        key_arn = facts.kms_key_arn(key_id, call.region) if key_id else None
        if not key_arn:
            return []
        queue_arn = _resource(call, "sqs", "sqs:SendMessage")
        actions = ["kms:Decrypt"] if call.operation == "ReceiveMessage" else ["kms:GenerateDataKey", "kms:Decrypt"]
        return [_kms(principal, a, key_arn, base, f"sqs.{call.region}.amazonaws.com", {"aws:sqs:arn": queue_arn})
                for a in actions]
    if call.service == "sns" and call.operation in ("Publish", "PublishBatch"):
        topic = str(params.get("TopicArn") or params.get("TargetArn") or "")
        key_id = facts.topic_kms_key(topic)
        key_arn = facts.kms_key_arn(key_id, call.region) if key_id else None
        if not key_arn:
            return []
        return [_kms(principal, a, key_arn, base, f"sns.{call.region}.amazonaws.com", {"aws:sns:topicArn": topic})
                for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    if call.service == "dynamodb" and call.operation in _DYNAMODB_ITEM_OPERATIONS:
        tables = _dynamodb_tables(call)
        out = []
        for table in tables:
            key_id = facts.table_kms_key(table, call.region)
            key_arn = facts.kms_key_arn(key_id, call.region) if key_id else None
            if key_arn:
                out.append(_kms(principal, "kms:Decrypt", key_arn, base, f"dynamodb.{call.region}.amazonaws.com",
                                {"aws:dynamodb:tableName": table, "aws:dynamodb:subscriberId": call.account}))
        return out
    return []


_DYNAMODB_ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                             "BatchWriteItem", "TransactGetItems", "TransactWriteItems"}


_DYNAMODB_MULTI_TABLE = {"BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"}
_TRANSACT_ACTIONS = {"Get": "GetItem", "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
"""A transaction is authorized item by item, each as its own action (AWS has no ``dynamodb:Transact*`` action)."""


def _dynamodb_items(call: ApiCall) -> list[tuple[str, str]]:
    """(action, table ARN) pairs of a batch or transaction call, once each, in table order: a batch is authorized
    as itself on every table it names, a transaction as each item's own action on its table.

    >>> for pair in _dynamodb_items(ApiCall("dynamodb", "TransactWriteItems", {"TransactItems": [
    ...         {"Put": {"TableName": "b"}}, {"ConditionCheck": {"TableName": "a"}}]}, "r", "1")):
    ...     print(*pair)
    dynamodb:ConditionCheckItem arn:aws:dynamodb:r:1:table/a
    dynamodb:PutItem arn:aws:dynamodb:r:1:table/b
    """
    def arn(table: str) -> str:
        return table if table.startswith("arn:") else f"arn:aws:dynamodb:{call.region}:{call.account}:table/{table}"

    if call.operation.startswith("Batch"):
        pairs = {(f"dynamodb:{call.operation}", arn(str(t))) for t in (call.params.get("RequestItems") or {})}
    else:
        pairs = {(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", arn(str(item["TableName"])))
                 for entry in call.params.get("TransactItems") or [] for kind, item in entry.items()
                 if kind in _TRANSACT_ACTIONS and isinstance(item, Mapping) and item.get("TableName")}
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def _dynamodb_tables(call: ApiCall) -> list[str]:
    """The table names one DynamoDB item call touches (batch and transaction calls name several)."""
    if call.params.get("TableName"):
        return [str(call.params["TableName"]).rsplit("/", 1)[-1]]
    return sorted({arn.rsplit("/", 1)[-1] for _action, arn in _dynamodb_items(call)})
