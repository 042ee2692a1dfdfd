"""Lambda runtimes -> Python version, OS and glibc; architectures -> pip platform tags.

python3.9-3.11 run on Amazon Linux 2 (glibc 2.26), python3.12+ on Amazon Linux 2023 (glibc 2.34). A wheel is
usable when its manylinux tag is at most the runtime's glibc, so pip gets every tag from ``manylinux_2_17`` up
to the runtime's glibc (plus the legacy alias ``manylinux2014``); ``manylinux2014`` alone stops at old numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.bundling.errors import LayerBuildError

LAMBDA_UNZIPPED_LIMIT = 262_144_000
"""Lambda's limit on a function's code plus all its layers, unzipped, in bytes."""


@dataclass(frozen=True)
class Runtime:
    name: str
    python: tuple[int, int]
    os: str
    glibc: tuple[int, int]

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def abi(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def glibc_version(self) -> str:
        return f"{self.glibc[0]}.{self.glibc[1]}"


_AL2, _AL2023 = ("Amazon Linux 2", (2, 26)), ("Amazon Linux 2023", (2, 34))
RUNTIMES: dict[str, Runtime] = {
    name: Runtime(name, (3, minor), os_glibc[0], os_glibc[1])
    for name, minor, os_glibc in (
        ("python3.9", 9, _AL2), ("python3.10", 10, _AL2), ("python3.11", 11, _AL2),
        ("python3.12", 12, _AL2023), ("python3.13", 13, _AL2023), ("python3.14", 14, _AL2023),
    )
}

ARCHITECTURES: dict[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
"""Lambda architecture name -> the machine name used in wheel tags."""

ELF_MACHINES: dict[str, str] = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}


@dataclass(frozen=True)
class Platform:
    """Where a layer runs: a Lambda runtime on one architecture."""

    runtime: Runtime
    architecture: str

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture]

    @property
    def tags(self) -> tuple[str, ...]:
        return platform_tags(self.runtime.glibc, self.architecture)

    def describe(self) -> str:
        return (f"{self.runtime.abi} manylinux_{self.runtime.glibc[0]}_{self.runtime.glibc[1]}_{self.machine} "
                f"({self.runtime.name} runs on {self.runtime.os}, glibc {self.runtime.glibc_version})")

    def pip_args(self) -> list[str]:
        """The pip options that select wheels for this platform only."""
        args = ["--only-binary=:all:", "--python-version", self.runtime.python_version,
                "--implementation", "cp", "--abi", self.runtime.abi, "--abi", "abi3", "--abi", "none"]
        for tag in self.tags:
            args += ["--platform", tag]
        return args


def get_runtime(name: str) -> Runtime:
    """Return the :class:`Runtime` for a Lambda runtime name, or raise :class:`LayerBuildError`."""
    try:
        return RUNTIMES[name]
    except KeyError:
        raise LayerBuildError(f"runtime: {name!r} is not a supported Lambda Python runtime "
                              f"(supported: {', '.join(RUNTIMES)})", reason="unsupported-runtime") from None


def get_platform(runtime: str, architecture: str) -> Platform:
    """Validate a runtime and architecture and return their :class:`Platform`.

    Example
    -------
    >>> get_platform("python3.11", "arm64").tags[:2]
    ('manylinux_2_26_aarch64', 'manylinux_2_25_aarch64')
    """
    rt = get_runtime(runtime)
    if architecture not in ARCHITECTURES:
        raise LayerBuildError(f"architecture: {architecture!r} is not a Lambda architecture "
                              f"(supported: {', '.join(ARCHITECTURES)})", reason="unsupported-architecture")
    return Platform(rt, architecture)


def platform_tags(glibc: tuple[int, int], architecture: str) -> tuple[str, ...]:
    """Every pip platform tag a runtime with ``glibc`` accepts, newest first.

    ``manylinux_2_<glibc>_<arch>`` down to ``manylinux_2_17_<arch>``, then ``manylinux2014_<arch>`` (the alias
    of ``manylinux_2_17``).
    """
    machine = ARCHITECTURES[architecture]
    major, minor = glibc
    if major != 2 or minor < 17:
        raise ValueError(f"glibc {major}.{minor} is older than manylinux2014 (2.17)")
    return (*(f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)), f"manylinux2014_{machine}")
