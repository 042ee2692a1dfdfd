"""Package size and Lambda limits, computed from the real archives.

Why the function + layers size is a *stack* policy: a resource policy sees a function's ``layers`` only as ARN
strings (unknown at preview when the layers are new), never the layers' archives. The stack policy follows
``layers`` to the ``aws:lambda/layerVersion:LayerVersion`` resources through the engine's property dependencies
(which exist even when ARNs are unknown), falls back to matching known ARNs against the layers' ``arn``
outputs, and follows ``s3Bucket``/``s3Key`` to the ``aws:s3/bucketObjectv2:BucketObjectv2`` whose ``source`` is
the staged zip. Layers from outside the stack (another account's ARN, e.g. AWS SDK for pandas) cannot be
measured: their unzipped size comes from the ``externalLayerSizes`` config (ARN -> bytes), and is counted in
the mandatory verdict. Without it the advisory ``lambda-function-external-layers`` reports the layer, with an
estimate from ``public_layers.json`` (known public layers, with sources) when there is one: an estimate never
makes a mandatory violation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from ._archives import ArchiveError, Size, measure, mib
from ._core import (
    ADVISORY,
    MANDATORY,
    UNKNOWN,
    AnyPolicy,
    Ctx,
    Rules,
    StackCtx,
    schema,
)

AREA = "package-size"
FUNCTION = "aws:lambda/function:Function"
LAYER = "aws:lambda/layerVersion:LayerVersion"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"

DIRECT_UPLOAD_LIMIT = 52_428_800  # 50 MiB zipped, for code uploaded with the API call (not via S3)
UNZIPPED_LIMIT = 262_144_000  # function code + all layers, unzipped
MAX_LAYERS = 5
MEMORY_RANGE = (128, 10_240)
TIMEOUT_RANGE = (1, 900)
ENV_LIMIT = 4_096
ENV_UNKNOWN_ESTIMATE = 256  # bytes assumed for a value unknown at preview (an ARN or a name)

#: Runtimes AWS has deprecated (no security patches; creation blocked later). Extend with config.
DEPRECATED_RUNTIMES = (
    "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "nodejs", "nodejs4.3", "nodejs4.3-edge",
    "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x",
    "java8", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "dotnet6",
    "dotnet7", "ruby2.5", "ruby2.7", "ruby3.2", "go1.x", "provided",
)


@functools.lru_cache(maxsize=1)
def _public_layers() -> list[dict[str, Any]]:
    data = json.loads(Path(__file__).with_name("public_layers.json").read_text(encoding="utf-8"))
    return list(data["layers"])


def known_public_layer(arn: str) -> dict[str, Any] | None:
    """The ``public_layers.json`` entry for a layer ARN (by publisher account and layer-name prefix).

    >>> known_public_layer("arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312:16")["name"]
    'AWS SDK for pandas (awswrangler)'
    """
    parts = arn.split(":")
    if len(parts) < 7 or parts[5] != "layer":
        return None
    account, name = parts[4], ":".join(parts[6:]) + ":"
    for entry in _public_layers():
        if entry["account"] == account and name.startswith(entry["prefix"]):
            return entry
    return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _zip_size(ctx: Ctx, args: ResourceValidationArgs) -> None:
    code = ctx.get("code")
    if code is None or code is UNKNOWN:
        return
    try:
        size = measure(code)
    except ArchiveError as err:
        ctx.report(f"The package cannot be measured: {err}.")
        return
    if size.zipped is not None and size.zipped > DIRECT_UPLOAD_LIMIT:
        ctx.report(f"The zip is {mib(size.zipped)}, over the {mib(DIRECT_UPLOAD_LIMIT)} direct-upload limit. "
                   "Stage it in S3 (s3_bucket/s3_key) or shrink it (components/bundling strips tests, "
                   "pyc and symbols).")
    elif size.zipped is None and size.unzipped > DIRECT_UPLOAD_LIMIT:
        ctx.report(f"The archive is built by Pulumi from {mib(size.unzipped)} of files, so its zip may exceed "
                   f"the {mib(DIRECT_UPLOAD_LIMIT)} direct-upload limit. Build a zip and measure it, or stage "
                   "it in S3.")


def _layer_count(ctx: Ctx, args: ResourceValidationArgs) -> None:
    layers = ctx.get("layers")
    if layers is None or layers is UNKNOWN:
        return
    limit = int(ctx.config["maxLayers"])
    if len(layers) > limit:
        ctx.report(f"The function has {len(layers)} layers; Lambda allows at most {limit}. Merge layers "
                   "(LayerBundle can build one layer from several requirement sets).")


def _bounds(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for key, (lo, hi), unit in (("memorySize", MEMORY_RANGE, "MB"), ("timeout", TIMEOUT_RANGE, "s")):
        value = _num(ctx.get(key))
        if value is not None and not lo <= value <= hi:
            ctx.report(f"{key} is {value:g} {unit}; Lambda accepts {lo}-{hi:,} {unit}.")


def _env_size(ctx: Ctx, args: ResourceValidationArgs) -> None:
    variables = ctx.mapping(ctx.get("environment", "variables"))
    unknown = [k for k, v in variables.items() if v is UNKNOWN]
    known = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items() if v is not UNKNOWN)
    known += sum(len(k.encode()) for k in unknown)
    if known > ENV_LIMIT:
        ctx.report(f"Environment variables take {known:,} bytes; Lambda allows {ENV_LIMIT:,} bytes in total. "
                   "Move large values to S3, SSM parameters or the code.")
    elif known + ENV_UNKNOWN_ESTIMATE * len(unknown) <= ENV_LIMIT:
        ctx.unknowns.clear()  # the unknown values cannot push the total over the limit


def _runtime(ctx: Ctx, args: ResourceValidationArgs) -> None:
    runtime = ctx.get("runtime")
    if ctx.get("packageType") == "Image" or runtime is None or runtime is UNKNOWN:
        return
    deprecated = set(ctx.config["deprecatedRuntimes"])
    allowed = ctx.config["allowedRuntimes"]
    if runtime in deprecated or (allowed and runtime not in allowed):
        ctx.report(f"Runtime {runtime} is deprecated or not allowed. Use a supported runtime such as "
                   "python3.12 (sciflow layers support python3.11-python3.13).")


# --------------------------------------------------------------------------- stack: function + layers
class _Sizer:
    def __init__(self, ctx: StackCtx) -> None:
        self.ctx = ctx
        self.objects = ctx.of_type(OBJECT)
        self.layers = ctx.of_type(LAYER)
        self.layer_by_arn: dict[str, PolicyResource] = {}
        for layer in self.layers:
            for key in ("arn",):
                arn = ctx.prop(layer, key)
                if isinstance(arn, str):
                    self.layer_by_arn[arn] = layer
        self._sizes: dict[str, Size | str] = {}

    def package(self, res: PolicyResource) -> Size | str:
        """The size of a function's or layer's own package, or why it cannot be measured."""
        if res.urn in self._sizes:
            return self._sizes[res.urn]
        ctx = self.ctx
        result: Size | str
        code = ctx.prop(res, "code")
        try:
            if code is not None and code is not UNKNOWN:
                result = measure(code)
            elif ctx.prop(res, "s3Key") is not None:
                objs = ctx.linked(res, "s3Key", self.objects, "key") or ctx.linked(res, "s3Bucket", self.objects)
                key = ctx.prop(res, "s3Key")
                objs = [o for o in objs if key is UNKNOWN or ctx.prop(o, "key") in (key, UNKNOWN)] or objs
                source = ctx.prop(objs[0], "source") if objs else None
                if source is None or source is UNKNOWN:
                    result = (f"its S3 package s3://{ctx.prop(res, 's3Bucket')}/{key} is not a "
                              "BucketObjectv2 with a file source in this stack")
                else:
                    result = measure(source)
            elif ctx.prop(res, "packageType") == "Image" or ctx.prop(res, "imageUri") is not None:
                result = Size(None, 0)
            else:
                result = "it has no code, s3Key or imageUri"
        except ArchiveError as err:
            result = str(err)
        self._sizes[res.urn] = result
        return result

    def attached(self, fn: PolicyResource, external: Mapping[str, Any]) -> tuple[list[PolicyResource],
                                                                              dict[str, int], list[str]]:
        """Layers in the stack in the function's attach order, external layers with configured sizes, and
        unresolvable layer references.

        A layer whose ARN is unknown at preview is found through the function's property dependency only; such
        layers take the places of the unknown entries of ``layers``, in the stack's order (the only order known
        before the ARNs are)."""
        ctx = self.ctx
        refs = ctx.items(ctx.prop(fn, "layers"))
        named = {self.layer_by_arn[r].urn for r in refs if r is not UNKNOWN and r in self.layer_by_arn}
        pending = iter([r for r in ctx.linked(fn, "layers", self.layers) if r.urn not in named])
        in_stack: list[PolicyResource] = []
        known_ext: dict[str, int] = {}
        missing: list[str] = []
        unlinked = 0
        for ref in refs:
            layer = next(pending, None) if ref is UNKNOWN else self.layer_by_arn.get(ref)
            if layer is not None:
                if layer not in in_stack:
                    in_stack.append(layer)
            elif ref is UNKNOWN:
                unlinked += 1
            elif ref in external:
                known_ext[ref] = int(external[ref])
            else:
                missing.append(ref)
        in_stack.extend(r for r in pending if r not in in_stack)
        if unlinked:
            missing.append(f"{unlinked} layer ARN(s) unknown at preview and not linked to a layer in the stack")
        return in_stack, known_ext, missing


def _unzipped(ctx: StackCtx) -> None:
    limit = int(ctx.config["limitBytes"])
    external = ctx.config["externalLayerSizes"] or {}
    sizer = _Sizer(ctx)
    attached_somewhere: set[str] = set()
    for fn in ctx.of_type(FUNCTION):
        parts: list[str] = []
        own = sizer.package(fn)
        if isinstance(own, str):
            ctx.report(f"The function package cannot be measured: {own}.", fn.urn)
            continue
        total = own.unzipped
        parts.append(f"code {mib(own.unzipped)}")
        layers, ext, _ = sizer.attached(fn, external)  # unmeasurable ones: lambda-function-external-layers
        for layer in layers:
            attached_somewhere.add(layer.urn)
            size = sizer.package(layer)
            if isinstance(size, str):
                ctx.report(f"Layer {layer.name} cannot be measured: {size}.", fn.urn)
                continue
            total += size.unzipped
            parts.append(f"{layer.name} {mib(size.unzipped)}")
        for arn, n in ext.items():
            total += n
            parts.append(f"{arn} {mib(n)} (configured)")
        if total > limit:
            ctx.report(f"Function code plus layers unzip to {mib(total)}, over Lambda's {mib(limit)} limit: "
                       + "; ".join(parts) + ". Exclude what another layer provides, strip tests and symbols "
                       "(components/bundling), or split the function.", fn.urn)
    for layer in sizer.layers:
        if layer.urn in attached_somewhere:
            continue
        size = sizer.package(layer)
        if isinstance(size, str):
            ctx.report(f"Layer cannot be measured: {size}.", layer.urn)
        elif size.unzipped > limit:
            ctx.report(f"Layer unzips to {mib(size.unzipped)}, over Lambda's {mib(limit)} limit on its own.",
                       layer.urn)


def _external_layers(ctx: StackCtx) -> None:
    limit = int(ctx.config["limitBytes"])
    external = ctx.config["externalLayerSizes"] or {}
    sizer = _Sizer(ctx)
    for fn in ctx.of_type(FUNCTION):
        _, _, missing = sizer.attached(fn, external)
        if not missing:
            continue
        layers, configured, _ = sizer.attached(fn, external)
        sizes = [sizer.package(res) for res in (fn, *layers)]
        base = sum(s.unzipped for s in sizes if not isinstance(s, str)) + sum(configured.values())
        notes, estimate = [], base
        for ref in missing:
            entry = known_public_layer(ref)
            if entry is None:
                notes.append(f"{ref} (size unknown)")
            else:
                estimate += int(entry["unzipped_bytes"])
                notes.append(f"{ref} ({entry['name']}, about {mib(int(entry['unzipped_bytes']))} unzipped)")
        verdict = (f" With the known estimates the function is about {mib(estimate)}, over the {mib(limit)} limit."
                   if estimate > limit else "")
        ctx.report("Layers from outside the stack cannot be measured: " + "; ".join(notes) + "." + verdict +
                   " Give their exact unzipped sizes in the externalLayerSizes config of "
                   "lambda-function-unzipped-size.", fn.urn)


_ARCHIVE_UNKNOWN = ("Archives are file paths and known at preview; a missing, remote or unreadable archive is "
                    "reported as a violation (never skipped).")

_rules = Rules(area=AREA, level=MANDATORY, unknown="report", unknown_doc=_ARCHIVE_UNKNOWN)

LAMBDA_FUNCTION_ZIP_SIZE = _rules.resource(
    "lambda-function-zip-size", "A Lambda function zip uploaded directly must be at most 50 MiB.", (FUNCTION,),
    _zip_size, Severity.HIGH,
    why="CreateFunction/UpdateFunctionCode reject a ZipFile over 50 MiB; the deploy fails half-way.",
    fix="Stage larger packages in S3 (s3_bucket/s3_key) or move dependencies into a layer.", refs=("sciflow",))

LAMBDA_LAYERVERSION_ZIP_SIZE = _rules.resource(
    "lambda-layerversion-zip-size", "A Lambda layer zip uploaded directly must be at most 50 MiB.", (LAYER,),
    _zip_size, Severity.HIGH,
    why="PublishLayerVersion rejects a ZipFile over 50 MiB; scientific layers are usually larger.",
    fix="Upload the zip as an aws.s3.BucketObjectv2 and pass s3_bucket/s3_key (LayerBundle does).",
    refs=("sciflow",))

_SIZE_CONFIG = schema(
    externalLayerSizes={"type": "object", "additionalProperties": {"type": "integer"}, "default": {},
                        "description": "Unzipped sizes in bytes of layers from outside the stack, by ARN."},
    limitBytes={"type": "integer", "default": UNZIPPED_LIMIT,
                "description": "The unzipped limit (lower it to keep headroom)."})

LAMBDA_FUNCTION_UNZIPPED_SIZE = _rules.stack(
    "lambda-function-unzipped-size", "A Lambda function's code plus all its layers must unzip to at most 262,144,000 "
    "bytes.", (FUNCTION, LAYER, OBJECT), _unzipped, Severity.CRITICAL, config_schema=_SIZE_CONFIG, unknown="ignore",
    why="Lambda rejects a function whose code and layers exceed 250 MB unzipped; numpy + pandas + scipy as pip "
        "installs them are ~283 MiB. Computed from the zips' central directories.",
    fix="Exclude packages another layer provides (LayerBundleArgs.exclude), strip tests/pyc/symbols, or split the "
        "work across functions.",
    unknown_doc="Layers are followed through property dependencies, so unknown ARNs at preview still resolve; an "
                "unreadable layer in the stack is reported as a violation, never skipped; layers from outside the "
                "stack count with their configured size (see lambda-function-external-layers).",
    refs=("sciflow", "AWS Lambda quotas"))

LAMBDA_FUNCTION_EXTERNAL_LAYERS = _rules.stack(
    "lambda-function-external-layers", "Layers from outside the stack should have a configured unzipped size.",
    (FUNCTION, LAYER, OBJECT), _external_layers, Severity.MEDIUM, level=ADVISORY, config_schema=_SIZE_CONFIG,
    unknown="ignore",
    why="A public or shared layer (AWS SDK for pandas, Powertools, another team's layer) counts towards the 250 MB "
        "unzipped limit but its archive is not in the stack. Known public layers are estimated from "
        "public_layers.json (with sources); an estimate is advice, never a mandatory violation.",
    fix="Put the layer's unzipped size in externalLayerSizes (aws lambda get-layer-version-by-arn, then unzip -l on "
        "the Content.Location zip), with the same value in both size policies' config.",
    unknown_doc="Layer ARNs unknown at preview and not linked to a layer in the stack are reported as unresolvable.",
    refs=("sciflow", "AWS Lambda quotas"))

LAMBDA_FUNCTION_LAYER_COUNT = _rules.resource(
    "lambda-function-layer-count", "A Lambda function may use at most 5 layers.", (FUNCTION,), _layer_count,
    Severity.HIGH, unknown="ignore",
    config_schema=schema(maxLayers={"type": "integer", "default": MAX_LAYERS, "minimum": 0,
                                    "description": "Layers allowed per function."}),
    why="Lambda rejects a sixth layer at deploy time.", fix="Merge layers with LayerBundle.",
    unknown_doc="Only the number of entries matters, which is known even when the ARNs are not.", refs=("sciflow",))

LAMBDA_FUNCTION_LIMITS = _rules.resource(
    "lambda-function-limits", "Lambda timeout must be 1-900 s and memory 128-10,240 MB.", (FUNCTION,), _bounds,
    Severity.MEDIUM,
    why="Values outside the ranges fail the deploy; scientific jobs that need more than 900 s belong in a Step "
        "Functions Map over partitions.", fix="memory_size in 128..10240, timeout in 1..900.",
    unknown_doc="An unknown number is reported by the engine's 'can't run policy' note.",
    refs=("sciflow", "AWS Lambda quotas"))

LAMBDA_FUNCTION_ENV_SIZE = _rules.resource(
    "lambda-function-env-size", "Lambda environment variables must total at most 4 KB.", (FUNCTION,), _env_size,
    Severity.MEDIUM, why="Lambda rejects larger environments at deploy time.",
    fix="Keep names and ARNs in the environment, configuration data in S3 or SSM.",
    unknown_doc=f"Unknown values count as {ENV_UNKNOWN_ESTIMATE} bytes each; only when that could exceed the limit "
                "is the engine's 'can't run policy' note raised.", refs=("sciflow",))

LAMBDA_FUNCTION_RUNTIME_SUPPORTED = _rules.resource(
    "lambda-function-runtime-supported", "Lambda functions must not use a deprecated runtime.", (FUNCTION,), _runtime,
    Severity.HIGH, level=ADVISORY, area="hygiene",
    config_schema=schema(
        deprecatedRuntimes={"type": "array", "items": {"type": "string"}, "default": list(DEPRECATED_RUNTIMES),
                            "description": "Runtimes to reject."},
        allowedRuntimes={"type": "array", "items": {"type": "string"}, "default": [],
                         "description": "When non-empty, only these runtimes pass."}),
    why="Deprecated runtimes get no security patches and later cannot be updated.",
    fix="runtime='python3.12' (or another supported runtime).",
    unknown_doc="An unknown runtime is reported by the engine's note.",
    refs=("cdk-nag AwsSolutions-L1", "cdk-nag Serverless LambdaLatestVersion"))

POLICIES: list[AnyPolicy] = [
    LAMBDA_FUNCTION_ZIP_SIZE,
    LAMBDA_LAYERVERSION_ZIP_SIZE,
    LAMBDA_FUNCTION_UNZIPPED_SIZE,
    LAMBDA_FUNCTION_EXTERNAL_LAYERS,
    LAMBDA_FUNCTION_LAYER_COUNT,
    LAMBDA_FUNCTION_LIMITS,
    LAMBDA_FUNCTION_ENV_SIZE,
    LAMBDA_FUNCTION_RUNTIME_SUPPORTED,
]
