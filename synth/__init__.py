"""The offline Pulumi engine: run a Pulumi program under mocks, record what it declares, check and show it.

This package is the one place in the repository that touches Pulumi's private internals (the mock runtime's
settings and event loop, the resource-reference wire format, ``pulumi_policy``'s analyzer servicer). Everything
else — ``policy.check``, the ``sandbox``, the tests and the benchmarks — uses the small API below.
It never imports ``sandbox`` or ``policy``.

Design: generic answers here, exact answers plugged in
------------------------------------------------------
``policy.check`` must never import ``sandbox``, yet its policies need realistic outputs (a bucket's ``id`` equal
to its name, ARNs in each service's format). So this package answers *every* resource type and data source by
rule (:mod:`synth.mocks`: naming property from the SDK class, deterministic auto-names, :mod:`synth.arns`,
``get_policy_document`` computed for real), and takes exact per-type answers through one plug-in point,
``synth(..., answers={type_token: answer})``. The sandbox plugs in its moto-consistent answers
(``sandbox.services``, each beside the type's deploy handler); ``policy.check`` and the component tests use the
generic ones. Values that cannot be known offline (what a data source returns beyond its arguments) are listed
in ``Graph.notes`` and reported once by ``policy.check``.

API
---
``synth(program, *, stack="dev", config=None, preview=True, answers=None, timeout_s=None) -> Graph``
    Run a program file (like ``__main__.py``) under the mocks, with ``Pulumi.<stack>.yaml`` beside it as
    config, and return every registration in order. Raises :class:`SynthError` (the program's own
    exception as ``__cause__``), :class:`DuplicateUrnError` or :class:`SynthTimeout`. A resource passed where
    a string is expected (``RolePolicy(role=role)``) is sent as its ID, as the engine sends it to the provider.
``Graph`` / ``Resource`` (``synth.graph``)
    The recorded registrations: type, name, URN, parent, camelCase ``inputs`` and mocked ``outputs``,
    dependencies, and the raw request/response protobufs for the policy analyzer. ``graph.to_json()`` is the
    ``python -m sandbox preview --json`` contract.
``AwsMocks`` / ``MockContext`` / ``ResourceAnswer`` (``synth.mocks``)
    The answers a resource registration and a data-source call get: a generic, rule-based answer for every
    type (physical name from the naming input or a deterministic auto-name, ARN in the service's format,
    :mod:`synth.arns`), data sources answered like AWS (``get_policy_document`` computed for real,
    :mod:`synth.policy_document`), and a plug-in point (``answers={type_token: answer}``) through which the
    sandbox registers its exact, moto-consistent answers (``sandbox.services``). The design is in
    :mod:`synth.mocks`.
``render_tree`` / ``render_summary`` (``synth.preview``)
    The ``pulumi preview``-like text of a graph.
``PackAnalyzer`` / ``analyze_requests`` (``synth.analysis``)
    CrossGuard policies on a graph through ``pulumi_policy``'s own servicer (the CLI's code path).

Example
-------
>>> from synth import synth
>>> graph = synth("__main__.py", stack="dev")
>>> graph.counts_by_type()["aws:lambda/function:Function"]
13
"""

from __future__ import annotations

from synth.engine import (
    DEFAULT_REGION,
    DuplicateUrnError,
    RecordingMonitor,
    SynthError,
    SynthTimeout,
    engine_config,
    load_stack_config,
    project_name,
    synth,
)
from synth.graph import STACK_TYPE, Graph, Resource, jsonable
from synth.mocks import ACCOUNT_ID, AwsMocks, MockContext, ResourceAnswer

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_REGION",
    "STACK_TYPE",
    "AwsMocks",
    "DuplicateUrnError",
    "Graph",
    "MockContext",
    "RecordingMonitor",
    "Resource",
    "ResourceAnswer",
    "SynthError",
    "SynthTimeout",
    "engine_config",
    "jsonable",
    "load_stack_config",
    "project_name",
    "synth",
]
