"""S3: buckets, their side resources (versioning, encryption, public access block, ownership, policy,
notifications, lifecycle) and objects. The deprecated ``*V2`` tokens are aliases of the current types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.archives import asset_bytes
from sandbox.services._base import Deployer, compact, exists, json_text, named, resource, tags_kv, to_int
from synth import MockContext
from synth.graph import Resource
from synth.mocks import suffix

BUCKET = "aws:s3/bucket:Bucket"


def _side_answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
    """A bucket's side resource is identified by its bucket."""
    return str(out.get("bucket"))


@resource(BUCKET, "aws:s3/bucketV2:BucketV2")
class Bucket:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, key="bucket", max_len=63, lower=True)
        out.update(arn=f"arn:aws:s3:::{name}", region=m.region, bucketDomainName=f"{name}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{name}.s3.{m.region}.amazonaws.com", hostedZoneId="Z11RGJOFQNVJUP")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        s3 = d.client("s3")
        name = str(res.outputs.get("bucket") or res.id)
        kwargs: dict[str, Any] = {"Bucket": name}
        if d.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": d.region}
        if inputs.get("objectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            if not exists(exc):
                raise
        if inputs.get("tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags_kv(inputs["tags"])})


@resource("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
class BucketVersioning:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        config = inputs.get("versioningConfiguration") or {}
        d.client("s3").put_bucket_versioning(Bucket=str(inputs["bucket"]), VersioningConfiguration=compact({
            "Status": config.get("status") or "Enabled", "MFADelete": config.get("mfaDelete")}))


@resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
class BucketEncryption:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        rules = []
        for rule in inputs.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            rules.append(compact({
                "ApplyServerSideEncryptionByDefault": compact({
                    "SSEAlgorithm": default.get("sseAlgorithm"), "KMSMasterKeyID": default.get("kmsMasterKeyId")}),
                "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
            }))
        d.client("s3").put_bucket_encryption(Bucket=str(inputs["bucket"]),
                                             ServerSideEncryptionConfiguration={"Rules": rules})


@resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
class BucketPublicAccessBlock:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("s3").put_public_access_block(Bucket=str(inputs["bucket"]), PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(inputs.get("blockPublicAcls")),
            "IgnorePublicAcls": bool(inputs.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(inputs.get("blockPublicPolicy")),
            "RestrictPublicBuckets": bool(inputs.get("restrictPublicBuckets")),
        })


@resource("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
class BucketOwnershipControls:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        rule = inputs.get("rule") or {}
        d.client("s3").put_bucket_ownership_controls(Bucket=str(inputs["bucket"]), OwnershipControls={
            "Rules": [{"ObjectOwnership": rule.get("objectOwnership") or "BucketOwnerEnforced"}]})


@resource("aws:s3/bucketPolicy:BucketPolicy")
class BucketPolicy:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("s3").put_bucket_policy(Bucket=str(inputs["bucket"]), Policy=json_text(inputs["policy"]))


@resource("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
class BucketLogging:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        # the embedded S3 checks, as S3 does, that the target's bucket policy lets log delivery write
        d.client("s3").put_bucket_logging(Bucket=str(inputs["bucket"]), BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": str(inputs["targetBucket"]), "TargetPrefix": str(inputs.get("targetPrefix") or "")}})


@resource("aws:s3/bucketNotification:BucketNotification")
class BucketNotification:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
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
                config[out_key] = [compact({"Id": item.get("id"), arn_out: item[arn_key],
                                            "Events": list(item.get("events") or []), **filters(item)})
                                   for item in items]
        d.client("s3").put_bucket_notification_configuration(Bucket=str(inputs["bucket"]),
                                                             NotificationConfiguration=config)


@resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
          "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
class BucketLifecycleConfiguration:
    answer = staticmethod(_side_answer)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        rules = []
        for rule in inputs.get("rules") or []:
            flt = rule.get("filter") or {}
            out: dict[str, Any] = {"ID": rule.get("id") or "rule", "Status": rule.get("status") or "Enabled",
                                   "Filter": compact({"Prefix": flt.get("prefix")}) or {"Prefix": rule.get("prefix")
                                                                                        or ""}}
            if rule.get("expiration"):
                out["Expiration"] = compact({"Days": to_int(rule["expiration"].get("days"))})
            if rule.get("noncurrentVersionExpiration"):
                out["NoncurrentVersionExpiration"] = compact({
                    "NoncurrentDays": to_int(rule["noncurrentVersionExpiration"].get("noncurrentDays"))})
            if rule.get("abortIncompleteMultipartUpload"):
                out["AbortIncompleteMultipartUpload"] = compact({
                    "DaysAfterInitiation": to_int(rule["abortIncompleteMultipartUpload"].get("daysAfterInitiation"))})
            if rule.get("transitions"):
                out["Transitions"] = [compact({"Days": to_int(t.get("days")), "StorageClass": t.get("storageClass")})
                                      for t in rule["transitions"]]
            rules.append(out)
        d.client("s3").put_bucket_lifecycle_configuration(Bucket=str(inputs["bucket"]),
                                                          LifecycleConfiguration={"Rules": rules})


def _put_object(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
    key = str(inputs.get("key") or res.outputs.get("key") or res.name)
    d.client("s3").put_object(**compact({
        "Bucket": str(inputs["bucket"]), "Key": key, "Body": asset_bytes(inputs, res.urn),
        "ContentType": inputs.get("contentType"), "ServerSideEncryption": inputs.get("serverSideEncryption"),
        "SSEKMSKeyId": inputs.get("kmsKeyId"), "Metadata": inputs.get("metadata"),
    }))


@resource("aws:s3/bucketObjectv2:BucketObjectv2")
class BucketObjectv2:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        key = out.get("key") or args.name
        out.update(key=key, etag=suffix(args.name, length=32), versionId=suffix("v", args.name, length=32),
                   arn=f"arn:aws:s3:::{out.get('bucket')}/{key}")
        return str(key)

    deploy = staticmethod(_put_object)


@resource("aws:s3/bucketObject:BucketObject")
class BucketObject:
    deploy = staticmethod(_put_object)
