"""The dev stack's real layers, for programs under test that attach none but must run as on AWS.

The programs under test (``tests/programs``) declare no layers, so their functions find pandas, Powertools and
openpyxl nowhere but in the test process. :func:`attach_stack_layers` gives every deployed function the layers
of ``Pulumi.<stack>.yaml`` (scientific, plotting, runtime for dev), built by the same engine and specs as the stack
(:func:`components.stack.provided_by`, :func:`components.stack.layer_lock`): the content-hash cache under
``~/.cache/sciflow/layers`` that ``make demo`` fills makes that a cache hit (about 1 s), else the first caller
builds them once for every process (the cache locks per key). With the embedded AWS isolated
(:func:`tests.support.programs.deployed` ``isolated=True``) the handlers then import only the function's code,
these layers and the runtime's boto3, as on Lambda.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from components.bundling import LayerBuild, build_layer
from components.config import ROOT, parse_stack_config
from components.stack import layer_lock, provided_by
from synth.engine import load_stack_config

if TYPE_CHECKING:
    from sandbox.deploy import Deployment

REPO = Path(__file__).resolve().parents[2]
STAGING_BUCKET = "sciflow-test-layer-staging"
"""Where the zips are staged for ``PublishLayerVersion`` (a 58 MB inline upload is 2-3 times slower)."""


@functools.cache
def stack_layers(stack: str = "dev") -> dict[str, LayerBuild]:
    """The layers of ``Pulumi.<stack>.yaml`` by name, in config order, built (or found in the cache) as the stack
    builds them."""
    raw = load_stack_config(REPO, stack)
    cfg = parse_stack_config({key[len(ROOT):]: value for key, value in raw.items() if key.startswith(ROOT)},
                             region=raw.get("aws:region"))
    builds: dict[str, LayerBuild] = {}
    for index, layer in enumerate(cfg.layers):
        providers = [builds[name].site_dir for name in provided_by(layer, cfg.layers[:index])]
        args = replace(layer.args, provided_by=providers, lock_file=layer_lock(layer))
        builds[layer.name] = build_layer(args.spec(), cache_dir=args.cache_dir)
    return builds


def attach_stack_layers(deployment: Deployment, stack: str = "dev") -> list[str]:
    """Publish the stack's layers into ``deployment`` and attach them to every function; returns their ARNs."""
    builds = stack_layers(stack)
    s3, lam = deployment.client("s3"), deployment.client("lambda")
    s3.create_bucket(Bucket=STAGING_BUCKET, CreateBucketConfiguration={"LocationConstraint": deployment.region})
    arns = []
    for name, build in builds.items():
        with build.zip_path.open("rb") as body:
            s3.put_object(Bucket=STAGING_BUCKET, Key=f"{name}.zip", Body=body)
        arns.append(lam.publish_layer_version(
            LayerName=f"{stack}-{name}", Content={"S3Bucket": STAGING_BUCKET, "S3Key": f"{name}.zip"},
            CompatibleRuntimes=[build.runtime], CompatibleArchitectures=[build.architecture])["LayerVersionArn"])
    for page in lam.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            lam.update_function_configuration(FunctionName=function["FunctionName"], Layers=arns)
    return arns


def cold_starts(deployment: Deployment, function: str) -> int:
    """How many of ``function``'s invocations started a worker process (their ``REPORT`` line has an
    ``Init Duration``, which only an isolated cold start reports); 0 for code run in the test process."""
    return sum(1 for invocation in deployment.aws.invocations if invocation.function_name == function
               for line in invocation.log_lines if line.startswith("REPORT ") and "Init Duration" in line)
