"""AWS SDK clients of a warm Lambda: created once per process and configuration, reused by every invocation.

AWS's advice for Lambda is to create SDK clients outside the handler: building one loads the service model
and endpoint rules (tens of milliseconds of CPU, more than a small step's own work) and a reused client keeps
its HTTPS connections open. boto3 is imported with this module, so the import is part of the function's init
phase, not of an invocation.

A client is reused only while everything boto3 reads from the environment is unchanged: the key holds the
service, the botocore :class:`~botocore.config.Config` options and every ``AWS_*`` variable (credentials,
session token, region, endpoint, retry and profile settings), so a process that runs several functions' code
(the embedded AWS's in-process runtime switches credentials per invocation) never reuses another role's
client. ``AWS_LAMBDA_*`` variables describe the invocation, not the SDK, and are left out of the key.

Example
-------
>>> client("s3") is client("s3")  # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import boto3
from botocore.config import Config

DEFAULTS: dict[str, Config] = {"s3": Config(s3={"payload_signing_enabled": False})}
"""Settings every client of a service gets (a caller's ``config`` is merged over them).

S3: no SHA-256 of request bodies for the SigV4 signature. Over HTTPS (every AWS endpoint) botocore already
leaves the bodies we send unsigned, since they carry a checksum header (``ChecksumSHA256`` or the SDK's CRC),
which S3 verifies; over plain HTTP (the embedded AWS, the benchmark's S3 stand-in) it would hash every body
once more, a cost no Lambda pays.
"""
MAX_CLIENTS = 32
"""Clients kept per process (least recently used dropped first): one per service and role in practice."""
_CLIENTS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()


def environment_key() -> tuple[tuple[str, str], ...]:
    """Every ``AWS_*`` environment variable boto3 may read (``AWS_LAMBDA_*`` excluded), sorted.

    Example
    -------
    >>> import os
    >>> os.environ["AWS_REGION"] = "eu-west-1"
    >>> ("AWS_REGION", "eu-west-1") in environment_key()
    True
    """
    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith("AWS_") and not k.startswith("AWS_LAMBDA_")))


def config_key(config: Any) -> tuple[tuple[str, str], ...]:
    """The options a botocore ``Config`` was given, as a hashable key (``()`` for no config).

    Example
    -------
    >>> from botocore.config import Config
    >>> config_key(Config(connect_timeout=5)) == config_key(Config(connect_timeout=5))
    True
    """
    if config is None:
        return ()
    return tuple(sorted((name, repr(value)) for name, value in vars(config).items()))


def client(service: str, *, config: Any = None) -> Any:
    """The process's boto3 client for ``service`` under the current environment (created on first use).

    Example
    -------
    >>> s3 = client("s3")  # doctest: +SKIP
    """
    if service in DEFAULTS:
        config = DEFAULTS[service] if config is None else DEFAULTS[service].merge(config)
    key = (service, config_key(config), environment_key())
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is not None:
            _CLIENTS.move_to_end(key)
            return found
    made = boto3.client(service, config=config)  # outside the lock: creating a client takes a while
    with _LOCK:
        _CLIENTS.setdefault(key, made)
        _CLIENTS.move_to_end(key)
        while len(_CLIENTS) > MAX_CLIENTS:
            _CLIENTS.popitem(last=False)
        return _CLIENTS[key]


def clear() -> None:
    """Forget every client (tests that swap the embedded AWS under one process)."""
    with _LOCK:
        _CLIENTS.clear()
