"""Three LayerBundles on a prebuilt zip (config ``test:layerZip``): published directly, staged in an own
encrypted bucket (reported over 50 MiB), staged in a given bucket. Exports the small one's outputs."""

from pathlib import Path

import pulumi

from components.bundling import LayerBuild
from components.bundling.archive import file_sha256, source_code_hash
from components.layer_bundle import DIRECT_UPLOAD_LIMIT_BYTES, LayerBundle, LayerBundleArgs

zip_path = Path(pulumi.Config("test").require("layerZip"))
sha = file_sha256(zip_path)


def fake(zipped: int) -> LayerBuild:
    return LayerBuild(zip_path=zip_path, sha256=sha, source_code_hash=source_code_hash(sha), unzipped_bytes=123456,
                      zipped_bytes=zipped, packages={"numpy": "2.2.6", "scipy": "1.16.3"}, glibc_max="2.17",
                      report={}, site_dir=zip_path.parent, cache_key="k", runtime="python3.11",
                      architecture="x86_64")


small = LayerBundle("scientific", LayerBundleArgs(requirements=["numpy==2.2.6"], build=fake(zip_path.stat().st_size)))
big = LayerBundle("big", LayerBundleArgs(requirements=["numpy==2.2.6"], tags={"owner": "science"},
                                         build=fake(DIRECT_UPLOAD_LIMIT_BYTES + 1)))
shared = LayerBundle("shared", LayerBundleArgs(
    requirements=["numpy==2.2.6"], staging_bucket="artifacts-bucket",
    staging_kms_key_arn="arn:aws:kms:ap-south-1:123456789012:key/abc", staging_threshold_bytes=10,
    build=fake(zip_path.stat().st_size)))
pulumi.export("small", {"arn": small.arn, "unzipped_bytes": small.unzipped_bytes, "zipped_bytes": small.zipped_bytes,
                        "sha256": small.sha256, "packages": small.packages})
