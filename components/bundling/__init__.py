"""Pure-Python build engine for Lambda layers and function code (no Pulumi imports).

Public API: :func:`build_layer`, :class:`LayerSpec`, :class:`LayerBuild`, :class:`LayerBuildError`, and the
deterministic zip helpers in :mod:`components.bundling.archive`.
"""

from components.bundling.builder import build_layer
from components.bundling.errors import LayerBuildError
from components.bundling.platforms import LAMBDA_UNZIPPED_LIMIT, RUNTIMES, get_platform, platform_tags
from components.bundling.spec import LayerBuild, LayerSpec

__all__ = ["LAMBDA_UNZIPPED_LIMIT", "RUNTIMES", "LayerBuild", "LayerBuildError", "LayerSpec", "build_layer",
           "get_platform", "platform_tags"]
