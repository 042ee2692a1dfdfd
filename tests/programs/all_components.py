"""LayerBundle (a 60 MiB build staged in S3), EtlPipeline and ScheduledComputation wired as the dev stack wires
them; ``python -m policy.check tests/programs/all_components.py --stack test`` must find no mandatory violation.

The layer zip is a one-file zip written to a private temporary directory (removed at exit); its reported size
is what makes the LayerBundle stage it in S3.
"""

import atexit
import shutil
import tempfile
import zipfile
from pathlib import Path

from components.bundling import LayerBuild
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs
from components.layer_bundle import LayerBundle, LayerBundleArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

work = Path(tempfile.mkdtemp(prefix="sciflow-all-components-"))
atexit.register(shutil.rmtree, work, True)
zip_path = work / "layer.zip"
with zipfile.ZipFile(zip_path, "w") as zf:
    zf.writestr("python/mod.py", "x = 1\n")

tags = {"project": "sciflow", "stack": "test"}
build = LayerBuild(zip_path=zip_path, sha256="0" * 64, source_code_hash="AAAA", unzipped_bytes=4,
                   zipped_bytes=60 * 1024 * 1024, packages={"numpy": "2.2.6"}, glibc_max="2.17", report={},
                   site_dir=work, cache_key="k", runtime="python3.11", architecture="x86_64")
sci = LayerBundle("scientific", LayerBundleArgs(requirements=["numpy==2.2.6"], build=build, tags=tags))
EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings", layers=[sci.arn], memory_mb=1024,
                                          timeout_s=120, tags=tags))
ScheduledComputation("daily-stats", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
    memory_mb=1024, timeout_s=120, layers=[sci.arn], artifact_prefix="daily-stats/", tags=tags))
