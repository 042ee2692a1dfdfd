"""The one error type the bundling engine raises for bad input or a failed build."""

from __future__ import annotations


class LayerBuildError(ValueError):
    """A layer cannot be built; ``package`` names the distribution at fault when there is one.

    The message always starts with the package (or the field) and says why, e.g.::

        numpy==2.4.6: no wheel for cp311 manylinux_2_26_x86_64 (python3.11 runs on Amazon Linux 2, glibc 2.26) ...
    """

    def __init__(self, message: str, *, package: str | None = None, reason: str = "error",
                 details: str = "") -> None:
        super().__init__(message if not details else f"{message}\n{details}")
        self.package = package
        self.reason = reason
        self.details = details
