"""LayerBundle: a verified, deterministic Lambda layer built without Docker and published as a LayerVersion.

The layer is built when the program runs (preview too) by :func:`components.bundling.build_layer`, so the size,
glibc and smoke checks fail ``pulumi preview`` rather than the first invocation. Zips over 50 MiB are staged
in S3 (an encrypted bucket, the content hash in the key) and published from there.

Example
-------
>>> scientific = LayerBundle("scientific", LayerBundleArgs(
...     requirements=["numpy==2.2.6", "pandas==3.1.1", "scipy==1.16.3"]))            # doctest: +SKIP
>>> plotting = LayerBundle("plotting", LayerBundleArgs(
...     requirements=["matplotlib==3.11.2"], exclude=["numpy", "python-dateutil", "six", "packaging"],
...     provided_by=[scientific]))                                                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bundling import LAMBDA_UNZIPPED_LIMIT, LayerBuild, LayerSpec, build_layer
from components.bundling.spec import PYC_MODES
from components.bundling.trim import trim_layer
from components.cost import Estimate, estimate_layer
from components.functions import architecture_knob, runtime_knob, tags_knob
from components.naming import scoped_name
from components.schema import knob, validate
from components.storage import AccessLogs, SecureBucket, access_logs_knob, create_kms_key, create_secure_bucket
from handlers.runtime import validators as v

DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024
"""Zips larger than this are staged in S3 (Lambda's direct upload limit is 50 MB zipped)."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where ``trim`` workload paths start (the directory of ``Pulumi.yaml``)."""


def workload_file(value: Any, root: Path = PROJECT_ROOT) -> str:
    """A Python file below the project root, given relative to it (``bench/workloads/full_stack.py``)."""
    text = v.text(value)
    path = Path(text)
    if path.is_absolute() or ".." in path.parts or path.suffix != ".py":
        raise v.Invalid(f"{v.show(value)} is not a relative path to a .py file inside the project")
    if not (root / path).is_file():
        raise v.Invalid(f"{v.show(value)}: no such file below {root}")
    return text


@dataclass
class LayerBundleArgs:
    """Inputs of :class:`LayerBundle`; see :class:`components.bundling.LayerSpec` for the build options. Each
    field's meaning, config key, default and check is declared once, below (the README table is generated).

    ``provided_by`` lists layers (``LayerBundle`` or an unzipped ``python/`` directory) that functions always
    attach together with this one; they are on ``sys.path`` during its smoke test, which is what ``exclude``
    relies on. Without a ``staging_bucket`` the component creates its own KMS-encrypted, versioned, private
    bucket for zips over ``staging_threshold_bytes``.
    """

    requirements: Sequence[str] = knob(check=v.each(v.requirement, min_items=1), doc="pinned PEP 508 requirements")
    runtime: str = runtime_knob()
    architecture: str = architecture_knob()
    exclude: Sequence[str] = knob((), check=v.each(v.text),
                                  doc="resolve but do not ship (another layer provides them)")
    include_runtime_packages: bool = knob(False, check=v.boolean, doc="ship boto3/botocore/s3transfer/urllib3 too")
    sdk_services: Sequence[str] = knob((), check=v.each(v.text),
                                       doc="with boto3 shipped: keep only these services' botocore models "
                                           "(e.g. `[s3, dynamodb]`; about 19 MB less); empty keeps all")
    size_budget_bytes: int = knob(LAMBDA_UNZIPPED_LIMIT, check=v.int_range(1, LAMBDA_UNZIPPED_LIMIT),
                                  doc="fail the build above this unzipped size")
    smoke_imports: Sequence[str] = knob((), check=v.each(v.module_name), doc="extra modules the smoke test imports")
    provided_by: Sequence[LayerBundle | Path] = knob(
        (), key=None, doc="layers attached together with this one (on `sys.path` for the smoke test; stack config: "
                          "the earlier layers of the same runtime and architecture, for a layer with `exclude`)")
    pyc: str = knob("imported", check=v.one_of(*PYC_MODES),
                    doc="`imported` (modules the smoke test imports), `all` or `none`")
    strip_docstrings: bool = knob(True, check=v.boolean,
                                  doc="compile those modules without docstrings (verified by the smoke test)")
    trim: Sequence[str] = knob((), check=v.each(workload_file),
                               doc="workload files (paths from the project root) the functions attaching this "
                                   "layer run: what they never load is removed, and the workload runs again on the "
                                   "trimmed layer in a fresh `-I` interpreter (removed modules raise an "
                                   "`ImportError` naming the rule); needs a local interpreter of the runtime")
    trim_keep: Sequence[str] = knob((), check=v.each(v.text),
                                    doc="with `trim`: modules (`scipy.io`) or path prefixes never removed")
    staging_bucket: pulumi.Input[str] | None = knob(None, key=None,
                                                    doc="bucket for zips over the threshold (else its own)")
    staging_kms_key_arn: pulumi.Input[str] | None = knob(None, key=None, doc="key of that bucket")
    access_logs: AccessLogs | None = access_logs_knob()
    staging_threshold_bytes: int = knob(DIRECT_UPLOAD_LIMIT_BYTES, check=v.int_range(0, DIRECT_UPLOAD_LIMIT_BYTES),
                                        doc="stage zips larger than this in S3 (Lambda's direct upload limit)")
    layer_name: str | None = knob(None, key=None, doc="default `<project>-<stack>-<name>`")
    description: str | None = knob(None, key=None, doc="default: the shipped packages")
    tags: Mapping[str, str] = tags_knob()
    cache_dir: Path | None = knob(None, key=None, doc="default `~/.cache/sciflow/layers`")
    lock_file: Path | None = knob(None, key=None,
                                  doc="install exactly this lock's hashed wheels (stack config: "
                                      "`locks/<name>-<runtime>-<architecture>.txt`, written by `make lock`)")
    build: LayerBuild | None = knob(None, key=None, doc="publish a ready build (tests, sandbox)")
    progress: Callable[[str], None] | None = knob(None, key=None,
                                                  doc="build progress messages (default: `pulumi.log.info`)")

    def __post_init__(self) -> None:
        validate(self)
        if self.trim_keep and not self.trim:
            raise v.Invalid("needs `trim` (the workloads that decide what is removed)", ("trim_keep",))

    def spec(self) -> LayerSpec:
        """The engine's :class:`LayerSpec` for these args."""
        return LayerSpec(
            requirements=tuple(self.requirements), runtime=self.runtime, architecture=self.architecture,
            exclude=tuple(self.exclude), include_runtime_packages=self.include_runtime_packages,
            size_budget_bytes=self.size_budget_bytes, smoke_imports=tuple(self.smoke_imports),
            provided_by=tuple(_site_dir(p) for p in self.provided_by), pyc=self.pyc,
            strip_docstrings=self.strip_docstrings, lock_file=self.lock_file, sdk_services=tuple(self.sdk_services))


def _site_dir(provider: LayerBundle | Path) -> Path:
    return provider.build.site_dir if isinstance(provider, LayerBundle) else Path(provider)


def layer_name_for(name: str, stack: str, project: str = "sciflow") -> str:
    """``<project>-<stack>-<name>`` limited to the characters and length Lambda accepts for layer names.

    Example
    -------
    >>> layer_name_for("scientific", "dev")
    'sciflow-dev-scientific'
    """
    return scoped_name(project, stack, name, max_len=140)


def staging_key(name: str, build: LayerBuild, project: str = "sciflow", stack: str = "dev") -> str:
    """S3 key of a staged layer zip: the content hash makes every distinct zip a new object, and the project
    and stack keep two stacks that share a staging bucket from managing (and deleting) the same object.

    Example
    -------
    >>> staging_key("scientific", build, "sciflow", "prod")                         # doctest: +SKIP
    'layers/sciflow-prod-scientific/python3.11-x86_64-<sha256>.zip'
    """
    return f"layers/{scoped_name(project, stack, name)}/{build.runtime}-{build.architecture}-{build.sha256}.zip"


def describe(build: LayerBuild) -> str:
    """LayerVersion description: the packages, capped at Lambda's 256 characters."""
    text = "sciflow: " + ", ".join(f"{n}=={v}" for n, v in sorted(build.packages.items()))
    return text if len(text) <= 256 else text[:253] + "..."


class LayerBundle(pulumi.ComponentResource):
    """A Lambda layer built from pinned requirements, verified, and published as ``aws.lambda_.LayerVersion``.

    Attributes
    ----------
    arn : pulumi.Output[str]
        The layer version ARN to attach to functions.
    unzipped_bytes, zipped_bytes : int
        Sizes of the layer, known at preview.
    sha256 : str
        Hex sha256 of the zip (``source_code_hash`` is its base64 form).
    packages : dict[str, str]
        Shipped distributions, name -> version.
    build : LayerBuild
        The build (zip path, unzipped ``site_dir``, full report).
    """

    arn: pulumi.Output[str]

    def __init__(self, name: str, args: LayerBundleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sciflow:index:LayerBundle", name, None, opts)
        self._name = name
        progress = args.progress or (lambda msg: pulumi.log.info(f"layer {name}: {msg}", resource=self))
        spec = replace(args.spec(), name=name)
        self.build = args.build or build_layer(spec, cache_dir=args.cache_dir, progress=progress)
        if args.trim and args.build is None:
            self.build = trim_layer(self.build, spec, tuple(PROJECT_ROOT / w for w in args.trim),
                                    keep=tuple(args.trim_keep), cache_dir=args.cache_dir, progress=progress)
        self.unzipped_bytes = self.build.unzipped_bytes
        self.zipped_bytes = self.build.zipped_bytes
        self.sha256 = self.build.sha256
        self.packages = dict(self.build.packages)
        self.staging: SecureBucket | None = None
        self.object: aws.s3.BucketObjectv2 | None = None
        self.layer = self._publish(name, args)
        self.arn = self.layer.arn
        self.register_outputs({"arn": self.arn, "unzipped_bytes": self.unzipped_bytes,
                               "zipped_bytes": self.zipped_bytes, "sha256": self.sha256,
                               "packages": self.packages})

    def cost_estimate(self, region: str) -> Estimate:
        """Monthly estimate: layers are free within the account's code storage; a staged zip costs S3."""
        return estimate_layer(zipped_bytes=self.zipped_bytes, region=region, staged=self.staging is not None,
                              name=f"layer {self._name}")

    def _publish(self, name: str, args: LayerBundleArgs) -> aws.lambda_.LayerVersion:
        build = self.build
        common: dict[str, Any] = {
            "layer_name": args.layer_name or layer_name_for(name, pulumi.get_stack(), pulumi.get_project()),
            "description": args.description or describe(build),
            "compatible_runtimes": [build.runtime],
            "compatible_architectures": [build.architecture],
            "source_code_hash": build.source_code_hash,
        }
        if build.zipped_bytes <= args.staging_threshold_bytes:
            return aws.lambda_.LayerVersion(f"{name}-layer", code=pulumi.FileArchive(str(build.zip_path)),
                                            **common, opts=pulumi.ResourceOptions(parent=self))
        self.object = self._stage(name, args)
        # No s3_object_version: the key already names the zip's sha256, and a version pin would replace the
        # LayerVersion whenever the object is re-uploaded (a new version id for the same bytes).
        return aws.lambda_.LayerVersion(f"{name}-layer", s3_bucket=self.object.bucket, s3_key=self.object.key,
                                        **common, opts=pulumi.ResourceOptions(parent=self))

    def _stage(self, name: str, args: LayerBundleArgs) -> aws.s3.BucketObjectv2:
        bucket: pulumi.Input[str]
        kms_key_arn: pulumi.Input[str] | None = args.staging_kms_key_arn
        after: list[pulumi.Resource] = []
        if args.staging_bucket is None:
            key = create_kms_key(f"{name}-staging", description=f"sciflow layer {name}: staged layer zips",
                                 parent=self, tags=args.tags)
            self.staging = create_secure_bucket(f"{name}-staging", kms_key=key, parent=self, tags=args.tags,
                                                access_logs=args.access_logs)
            bucket, kms_key_arn = self.staging.bucket.id, key.arn
            # The upload waits for the bucket's versioning, encryption and policy, so the object is never
            # written into a half-configured bucket.
            after = [self.staging.versioning, self.staging.encryption, self.staging.policy]
        else:
            bucket = args.staging_bucket
        return aws.s3.BucketObjectv2(
            f"{name}-zip", bucket=bucket,
            key=staging_key(name, self.build, pulumi.get_project(), pulumi.get_stack()),
            source=pulumi.FileAsset(str(self.build.zip_path)), content_type="application/zip",
            server_side_encryption="aws:kms", kms_key_id=kms_key_arn, bucket_key_enabled=True,
            tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self, depends_on=after))
