"""The one error type the bundling engine raises for bad input or a failed build."""

from __future__ import annotations


class LayerBuildError(ValueError):
    """A layer cannot be built; ``package`` names the distribution at fault when there is one.

    The message always starts with the layer (when it has a name) and the package or field, and says why::

        layer 'scientific': numpy==2.4.6: no wheel for cp311 manylinux_2_26_x86_64 (python3.11 runs on ...

    ``str(error)`` is that one message; ``details`` holds the raw evidence (pip's output, a traceback), which
    the CLI prints only with ``--verbose``.
    """

    def __init__(self, message: str, *, package: str | None = None, reason: str = "error",
                 details: str = "", layer: str | None = None) -> None:
        self.message = message
        self.package = package
        self.reason = reason
        self.details = details
        self.layer = layer
        super().__init__(f"layer {layer!r}: {message}" if layer else message)

    def for_layer(self, layer: str) -> LayerBuildError:
        """The same error, its message prefixed with the layer's name (no-op when it already names one)."""
        if not layer or self.layer:
            return self
        return LayerBuildError(self.message, package=self.package, reason=self.reason, details=self.details,
                               layer=layer)
