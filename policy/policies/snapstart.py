"""SnapStart prerequisites: a function that asks for SnapStart must be able to get it.

Lambda restores a function from a SnapStart snapshot only for a *published version* (and aliases pointing at
one) of a supported runtime (Python from python3.12, Java from java11, .NET from dotnet8), packaged as a zip, with
ephemeral storage of at most 512 MB and no EFS file system. Otherwise the deploy fails (unsupported runtime,
storage, EFS) or, worse, succeeds and every cold start still initializes from scratch (nothing published).
Provisioned concurrency is a separate resource and is mutually exclusive with SnapStart too; see ``fix``.
"""

from __future__ import annotations

import re

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import MANDATORY, UNKNOWN, Ctx, Doc, SciflowResourcePolicy

AREA = "package-size"
FUNCTION = "aws:lambda/function:Function"
MAX_EPHEMERAL_MB = 512
_SUPPORTED = re.compile(r"^(python3\.(1[2-9]|[2-9]\d)|java(1[1-9]|[2-9]\d)|dotnet([89]|\d\d))$")


def snap_start_runtime(runtime: str) -> bool:
    """True for runtimes Lambda offers SnapStart for.

    Example
    -------
    >>> [snap_start_runtime(r) for r in ("python3.11", "python3.12", "python3.13", "java21", "nodejs22.x")]
    [False, True, True, True, False]
    """
    return bool(_SUPPORTED.match(runtime))


def _prerequisites(ctx: Ctx, args: ResourceValidationArgs) -> None:
    apply_on = ctx.get("snapStart", "applyOn")
    if apply_on is None or apply_on is UNKNOWN or apply_on == "None":
        return
    runtime = ctx.get("runtime")
    if isinstance(runtime, str) and not snap_start_runtime(runtime):
        ctx.report(f"SnapStart is on but runtime {runtime} does not support it; use python3.12 or newer.")
    if ctx.get("packageType") == "Image":
        ctx.report("SnapStart is on but the function is a container image; SnapStart needs a zip package.")
    publish = ctx.get("publish")
    if publish is not UNKNOWN and publish is not True:
        ctx.report("SnapStart is on but publish is not true: no version is published, so every invocation runs "
                   "$LATEST and cold-starts from scratch. Set publish=True and invoke an alias of the version.")
    size = ctx.get("ephemeralStorage", "size")
    if isinstance(size, int | float) and not isinstance(size, bool) and size > MAX_EPHEMERAL_MB:
        ctx.report(f"SnapStart is on but ephemeral storage is {size:g} MB; SnapStart allows at most "
                   f"{MAX_EPHEMERAL_MB} MB.")
    efs = ctx.get("fileSystemConfig")
    if efs is not None and efs is not UNKNOWN:
        ctx.report("SnapStart is on but the function mounts EFS (fileSystemConfig); SnapStart does not support EFS.")


LAMBDA_FUNCTION_SNAPSTART_PREREQUISITES = SciflowResourcePolicy(
    name="lambda-function-snapstart-prerequisites",
    description="A function with SnapStart must be able to use it: supported runtime, published version, zip, "
                "ephemeral storage <= 512 MB, no EFS.",
    resource_types=(FUNCTION,), check=_prerequisites, enforcement_level=MANDATORY, severity=Severity.MEDIUM,
    area=AREA,
    doc=Doc(why="An unsupported runtime, storage over 512 MB or EFS fail the deploy; without publish=true the "
                "deploy succeeds but nothing is ever restored from a snapshot, so the cold start SnapStart was "
                "meant to remove stays.",
            fix="Use python3.12+ with publish=True and invoke the alias (ScheduledComputationArgs(snap_start=True) "
                "does all of this); keep ephemeral storage at 512 MB, drop EFS, and do not add provisioned "
                "concurrency to a SnapStart function.",
            unknown="An unknown runtime or publish flag is reported as not checkable; unknown storage or EFS "
                    "settings are only checked once known.",
            references=("AWS Lambda SnapStart",)))

POLICIES = [LAMBDA_FUNCTION_SNAPSTART_PREREQUISITES]
