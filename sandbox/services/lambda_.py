"""Lambda: layer versions (moto numbers them; the graph's ARN is replaced), functions, async invoke configs,
permissions. moto keeps neither LoggingConfig nor DeadLetterConfig: the deploy records them on the
embedded AWS for the in-process runtime."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.archives import archive_bytes
from sandbox.services._base import (
    Deployer,
    DeployError,
    compact,
    exists,
    named,
    resource,
    tags_map,
    to_int,
)
from sandbox.workers.interpreter import RuntimeUnavailable, runtime_version, worker_python
from synth import MockContext
from synth.graph import Resource

FUNCTION = "aws:lambda/function:Function"
LAYER = "aws:lambda/layerVersion:LayerVersion"


def check_hash(d: Deployer, res: Resource, inputs: Mapping[str, Any], data: bytes | None) -> None:
    """Warn when ``sourceCodeHash`` does not match the archive (``pulumi up`` would diff on every run)."""
    declared = inputs.get("sourceCodeHash")
    if data is None or not declared:
        return
    actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if declared != actual:
        d.warnings.append(f"{res.urn}: sourceCodeHash {declared} does not match the archive "
                          f"({actual}); `pulumi up` would show a diff on every run")


def check_runtime(d: Deployer, res: Resource, runtime: str) -> None:
    """Fail the deploy of a function this machine cannot run on its own runtime (never the host's Python instead):
    isolated workers need a local interpreter of that version; the in-process runtime is the host's Python."""
    if d.aws.isolated:
        try:
            worker_python(runtime)
        except RuntimeUnavailable as exc:
            raise DeployError(f"{res.urn}: {exc}") from None
    elif runtime_version(runtime) not in (None, sys.version_info[:2]):
        raise DeployError(f"{res.urn}: runtime {runtime}: the in-process Lambda runtime is this "
                          f"python{sys.version_info[0]}.{sys.version_info[1]}; run the embedded AWS with isolated "
                          "workers (as `make demo` does) to use another runtime")


@resource(LAYER)
class LayerVersion:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        layer_arn = m.arn("lambda", f"layer:{out.get('layerName') or args.name}")
        out.update(layerArn=layer_arn, arn=f"{layer_arn}:1", version="1",
                   codeSha256=out.get("sourceCodeHash") or "", createdDate="2026-01-01T00:00:00.000+0000")
        return f"{layer_arn}:1"

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        name = str(inputs.get("layerName") or res.name)
        content: dict[str, Any]
        if inputs.get("code") is not None:
            data = archive_bytes(inputs["code"], what=res.urn)
            content = {"ZipFile": data}
            digest = hashlib.sha256(data).hexdigest()
        else:
            content = compact({"S3Bucket": inputs.get("s3Bucket"), "S3Key": inputs.get("s3Key"),
                               "S3ObjectVersion": inputs.get("s3ObjectVersion")})
            digest = json.dumps(content, sort_keys=True)
        known: dict[str, tuple[str, str]] = d.state.setdefault("layers", {})
        previous = known.get(res.urn)
        if previous and previous[0] == digest:
            arn = previous[1]
        else:
            check_hash(d, res, inputs, content.get("ZipFile"))
            arn = d.client("lambda").publish_layer_version(**compact({
                "LayerName": name, "Content": content, "Description": inputs.get("description"),
                "CompatibleRuntimes": list(inputs.get("compatibleRuntimes") or []),
                "CompatibleArchitectures": list(inputs.get("compatibleArchitectures") or []),
                "LicenseInfo": inputs.get("licenseInfo"),
            }))["LayerVersionArn"]
            known[res.urn] = (digest, arn)
        d.replace(res.outputs.get("arn") or res.id, arn)


@resource(FUNCTION)
class Function:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        arn = m.arn("lambda", f"function:{name}")
        out.update(arn=arn, qualifiedArn=f"{arn}:$LATEST", version="$LATEST",
                   invokeArn=f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                   codeSha256=out.get("sourceCodeHash") or "", lastModified="2026-01-01T00:00:00.000+0000")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        lam = d.client("lambda")
        name = str(res.outputs.get("name") or res.outputs.get("functionName") or res.id)
        if inputs.get("code") is not None:
            data = archive_bytes(inputs["code"], what=res.urn)
            check_hash(d, res, inputs, data)
            code: dict[str, Any] = {"ZipFile": data}
        elif inputs.get("s3Bucket"):
            code = compact({"S3Bucket": inputs["s3Bucket"], "S3Key": inputs.get("s3Key"),
                            "S3ObjectVersion": inputs.get("s3ObjectVersion")})
        else:
            raise DeployError(f"{res.urn}: only zip functions (code or s3Bucket/s3Key) are supported")
        check_runtime(d, res, str(inputs.get("runtime") or ""))
        logging_config = inputs.get("loggingConfig") or {}
        dead_letter = (inputs.get("deadLetterConfig") or {}).get("targetArn")
        config = compact({
            "Role": inputs.get("role"), "Handler": inputs.get("handler"), "Runtime": inputs.get("runtime"),
            "Description": inputs.get("description"), "Timeout": to_int(inputs.get("timeout")) or 3,
            "MemorySize": to_int(inputs.get("memorySize")) or 128,
            "Environment": {"Variables": tags_map((inputs.get("environment") or {}).get("variables"))},
            "KMSKeyArn": inputs.get("kmsKeyArn"),
            "TracingConfig": compact({"Mode": (inputs.get("tracingConfig") or {}).get("mode")}),
            "Layers": [str(layer) for layer in inputs.get("layers") or []],
            "EphemeralStorage": compact({"Size": to_int((inputs.get("ephemeralStorage") or {}).get("size"))}),
            "DeadLetterConfig": compact({"TargetArn": dead_letter}),
            "LoggingConfig": compact({"LogFormat": logging_config.get("logFormat"),
                                      "LogGroup": logging_config.get("logGroup"),
                                      "ApplicationLogLevel": logging_config.get("applicationLogLevel"),
                                      "SystemLogLevel": logging_config.get("systemLogLevel")}),
        })
        try:
            lam.create_function(FunctionName=name, Code=code,
                                Architectures=list(inputs.get("architectures") or ["x86_64"]),
                                PackageType="Zip", Tags=tags_map(inputs.get("tags")), **config)
        except ClientError as exc:
            if not exists(exc):
                raise
            lam.update_function_code(FunctionName=name, **code)
            lam.update_function_configuration(FunctionName=name, **config)
        reserved = to_int(inputs.get("reservedConcurrentExecutions"))
        if reserved is not None and reserved >= 0:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        if config.get("LoggingConfig"):
            d.aws.function_logging[name] = {k: str(v) for k, v in config["LoggingConfig"].items()}
        if dead_letter:
            d.aws.function_dead_letters[name] = str(dead_letter)


@resource("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
class FunctionEventInvokeConfig:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return str(out.get("functionName"))

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        destinations = inputs.get("destinationConfig") or {}
        config = compact({
            "OnSuccess": compact({"Destination": (destinations.get("onSuccess") or {}).get("destination")}),
            "OnFailure": compact({"Destination": (destinations.get("onFailure") or {}).get("destination")}),
        })
        d.client("lambda").put_function_event_invoke_config(**compact({
            "FunctionName": str(inputs["functionName"]), "Qualifier": inputs.get("qualifier"),
            "MaximumRetryAttempts": to_int(inputs.get("maximumRetryAttempts")),
            "MaximumEventAgeInSeconds": to_int(inputs.get("maximumEventAgeInSeconds")),
            "DestinationConfig": config,
        }))


@resource("aws:lambda/permission:Permission")
class Permission:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return named(m, args, out, key="statementId")

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        try:
            d.client("lambda").add_permission(**compact({
                "FunctionName": str(inputs["function"]), "StatementId": str(res.outputs.get("statementId")),
                "Action": inputs.get("action"), "Principal": inputs.get("principal"),
                "SourceArn": inputs.get("sourceArn"), "SourceAccount": inputs.get("sourceAccount"),
                "Qualifier": inputs.get("qualifier"),
            }))
        except ClientError as exc:
            if not exists(exc):
                raise
