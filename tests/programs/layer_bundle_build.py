"""One LayerBundle that really builds its layer during the program run.

Config (``test:`` namespace): ``requirements`` (a list), ``cacheDir``, and ``findLinks`` (a local wheel
directory: the build then runs offline with ``--no-index``; the index is an engine option, not an Args field,
so a subclass narrows ``spec()`` to it).
"""

import dataclasses
from pathlib import Path

import pulumi

from components.bundling import LayerSpec
from components.layer_bundle import LayerBundle, LayerBundleArgs

config = pulumi.Config("test")
find_links = config.get("findLinks")


class OfflineArgs(LayerBundleArgs):
    def spec(self) -> LayerSpec:
        spec = super().spec()
        return dataclasses.replace(spec, no_index=True, find_links=(find_links,)) if find_links else spec


LayerBundle("real", OfflineArgs(requirements=config.require_object("requirements"),
                                cache_dir=Path(config.require("cacheDir"))))
