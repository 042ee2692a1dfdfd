"""Run the sciflow pack offline: ``python -m policy.check PROGRAM [--stack NAME] [--json]``.

The program is synthesized under the Pulumi mocks by the sandbox (``sandbox.synth.synth``), and every
recorded registration is fed to ``pulumi_policy``'s own analyzer servicer, the object the CLI talks to over
gRPC: ``Analyze`` with each resource's registered inputs (the ``RegisterResourceRequest.object`` Struct, so
archives, secrets and unknown values are deserialized exactly as in a preview) and ``AnalyzeStack`` with
every resource's outputs, parent, dependencies and property dependencies.

Output: a table of violations, or with ``--json`` exactly one JSON object on stdout::

    {"resources": <int>, "violations": [{"policy", "enforcement", "urn", "message"}]}

Exit status: 0 when there is no mandatory violation, 1 when there is, 2 when the program itself fails
(the error on stderr). ``--policy-config FILE`` takes the JSON that ``pulumi preview --policy-pack-config``
takes (``{"<policy>": "advisory" | {"enforcementLevel": ..., "<property>": ...}}``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from .policies import ALL_POLICIES, BY_NAME, PACK_NAME, SciflowResourcePolicy, SciflowStackPolicy
from .policies._archives import PROGRAM_DIR_ENV

PACK_VERSION = "0.1.0"
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_LEVELS = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "remediate",
           proto.DISABLED: "disabled"}
_LEVEL_BY_NAME = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "remediate": proto.REMEDIATE,
                  "disabled": proto.DISABLED}


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    urn: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "enforcement": self.enforcement, "urn": self.urn, "message": self.message}


@dataclass
class Report:
    resources: int
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    def by_policy(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == name]

    def to_json(self) -> dict[str, Any]:
        return {"resources": self.resources, "violations": [v.to_json() for v in self.violations]}


# --------------------------------------------------------------------------- the analyzer
class Analyzer:
    """The pack behind ``_PolicyAnalyzerServicer`` instances, as the engine would call it.

    The servicer deserializes a resource's properties once per policy it holds, and every stack resource once
    per stack policy. So resource policies are grouped per resource type (one servicer per type, holding only
    the policies that apply to it; policies for every type are in each group), and each stack policy gets the
    resources of the types it declares it reads. Same code path, without the quadratic cost."""

    def __init__(self, policies: Sequence[SciflowResourcePolicy | SciflowStackPolicy] = tuple(ALL_POLICIES),
                 config: Mapping[str, Any] | None = None) -> None:
        self.resource_policies = [p for p in policies if isinstance(p, SciflowResourcePolicy)]
        self.stack_policies = [p for p in policies if isinstance(p, SciflowStackPolicy)]
        self._configure = _configure_request(config or {})
        self._servicers: dict[str, _PolicyAnalyzerServicer | None] = {}
        self._stack = [(p, self._servicer([p])) for p in self.stack_policies]

    def _servicer(self, policies: list[Any]) -> _PolicyAnalyzerServicer:
        servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, policies, EnforcementLevel.ADVISORY)
        servicer.Configure(self._configure, None)
        return servicer

    def servicer_for(self, resource_type: str) -> _PolicyAnalyzerServicer | None:
        if resource_type not in self._servicers:
            applicable = [p for p in self.resource_policies if p.applies_to(resource_type)]
            self._servicers[resource_type] = self._servicer(applicable) if applicable else None
        return self._servicers[resource_type]

    def analyze(self, request: Any) -> list[Violation]:
        servicer = self.servicer_for(request.type)
        if servicer is None:
            return []
        response = servicer.Analyze(request, None)
        return [_violation(d, request.urn) for d in response.diagnostics]

    def analyze_stack(self, request: Any) -> list[Violation]:
        """Each stack policy sees the resources of the types it reads (it ignores all others anyway)."""
        out: list[Violation] = []
        for policy, servicer in self._stack:
            types = policy.resource_types
            resources = [r for r in request.resources if not types or r.type in types]
            response = servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
            out.extend(_violation(d, "") for d in response.diagnostics)
        return out


class _MemoJsonFormat:
    """``json_format`` for the servicer with ``MessageToDict`` memoized on the message's bytes.

    The servicer converts a resource's properties Struct to a dict once per policy (and a stack resource once
    per stack policy); the conversion is a pure function and ``deserialize_properties`` builds new objects from
    its result without mutating it, so one conversion per distinct Struct gives identical inputs. Everything
    else is the real module."""

    def __init__(self) -> None:
        self._cache: dict[bytes, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(message, struct_pb2.Struct):
            return json_format.MessageToDict(message, *args, **kwargs)
        key = message.SerializeToString(deterministic=True)
        value = self._cache.get(key)
        if value is None:
            value = json_format.MessageToDict(message)
            self._cache[key] = value
        return value


def _memo_by_identity(fn: Any) -> Any:
    """``fn`` memoized on its argument's identity (the argument is kept alive, so ids are not reused)."""
    cache: dict[int, tuple[Any, Any]] = {}

    def wrapper(value: Any, *args: Any) -> Any:
        if args:
            return fn(value, *args)
        hit = cache.get(id(value))
        if hit is None or hit[0] is not value:
            hit = (value, fn(value))
            cache[id(value)] = hit
        return hit[1]

    return wrapper


@contextlib.contextmanager
def _memoized_conversions() -> Iterator[None]:
    """Convert each distinct properties Struct once, not once per policy (and pause the cyclic GC).

    The servicer runs Struct -> dict (``MessageToDict``) -> deserialized values -> unknown-checking proxy for
    every policy. All three are pure; the proxy is read-only for sciflow's policies (none assigns into
    ``props``). With the memo the servicer's own loop, levels, unknown handling and diagnostics are unchanged.
    """
    from pulumi_policy import policy as servicer_module

    saved = (servicer_module.json_format, servicer_module.deserialize_properties,
             servicer_module.unknown_checking_proxy)
    servicer_module.json_format = _MemoJsonFormat()
    servicer_module.deserialize_properties = _memo_by_identity(saved[1])
    servicer_module.unknown_checking_proxy = _memo_by_identity(saved[2])
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        (servicer_module.json_format, servicer_module.deserialize_properties,
         servicer_module.unknown_checking_proxy) = saved
        if gc_was_enabled:
            gc.enable()


def _violation(diag: Any, default_urn: str) -> Violation:
    return Violation(policy=diag.policyName, enforcement=_LEVELS.get(diag.enforcementLevel, "advisory"),
                     urn=diag.urn or default_urn, message=diag.message)


def _configure_request(config: Mapping[str, Any]) -> Any:
    request = proto.ConfigureAnalyzerRequest()
    for name, value in config.items():
        policy_config = proto.PolicyConfig()
        props = dict(value) if isinstance(value, Mapping) else {"enforcementLevel": value}
        level = props.pop("enforcementLevel", None)
        policy_config.enforcementLevel = _LEVEL_BY_NAME[level] if level else proto.ADVISORY
        if level is None:  # only properties given: keep the policy's own level
            own = BY_NAME[name].enforcement_level if name in BY_NAME else EnforcementLevel.ADVISORY
            policy_config.enforcementLevel = _LEVEL_BY_NAME[(own or EnforcementLevel.ADVISORY).value]
        if props:
            policy_config.properties.update(props)
        request.policyConfig[name].CopyFrom(policy_config)
    return request


# --------------------------------------------------------------------------- requests from the synth graph
def _strip_resource_refs(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    """Resource references (a resource passed as an input) become their id or URN, as the engine shows them."""
    if _RESOURCE_REF_SIG.encode() not in struct.SerializeToString():
        return struct

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get(_SIG_KEY) == _RESOURCE_REF_SIG:
                return value.get("id") or value.get("urn")
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = struct_pb2.Struct()
    out.update(walk(json_format.MessageToDict(struct)))
    return out


def _options(res: Any) -> Any:
    req = res.request
    return proto.AnalyzerResourceOptions(
        parent=res.parent or "",
        protect=bool(getattr(req, "protect", False)),
        ignoreChanges=list(getattr(req, "ignoreChanges", [])),
        deleteBeforeReplace=bool(getattr(req, "deleteBeforeReplace", False)),
        deleteBeforeReplaceDefined=bool(getattr(req, "deleteBeforeReplaceDefined", False)),
        additionalSecretOutputs=list(getattr(req, "additionalSecretOutputs", [])),
    )


def _provider(res: Any, providers: Mapping[str, Any]) -> Any:
    ref = res.provider or (getattr(res.request, "provider", "") if res.request is not None else "")
    if not ref:
        return None
    urn = ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref
    prov = providers.get(urn)
    if prov is None or prov.request is None:
        return None
    return proto.AnalyzerProviderResource(type=prov.type, properties=_strip_resource_refs(prov.request.object),
                                          urn=prov.urn, name=prov.name)


def _struct(value: Any) -> struct_pb2.Struct:
    return value if isinstance(value, struct_pb2.Struct) else struct_pb2.Struct()


def analyze_requests(graph: Any) -> tuple[list[Any], Any]:
    """``AnalyzeRequest`` per custom resource and one ``AnalyzeStackRequest``, built from the registrations."""
    resources = list(graph.resources)
    providers = {r.urn: r for r in resources if r.type.startswith("pulumi:providers:")}
    requests = []
    stack_resources = []
    for res in resources:
        if res.request is None:
            continue
        provider = _provider(res, providers)
        options = _options(res)
        if res.custom and not res.type.startswith("pulumi:providers:"):
            kwargs: dict[str, Any] = {"type": res.type, "properties": _strip_resource_refs(_struct(res.request.object)),
                                      "urn": res.urn, "name": res.name, "options": options}
            if provider is not None:
                kwargs["provider"] = provider
            requests.append(proto.AnalyzeRequest(**kwargs))
        outputs = _struct(res.response.object) if res.response is not None else struct_pb2.Struct()
        entry: dict[str, Any] = {
            "type": res.type, "properties": _strip_resource_refs(outputs), "urn": res.urn, "name": res.name,
            "options": options, "parent": res.parent or "", "dependencies": list(res.dependencies),
            "propertyDependencies": {k: proto.AnalyzerPropertyDependencies(urns=list(v))
                                     for k, v in res.property_dependencies.items()},
        }
        if provider is not None:
            entry["provider"] = provider
        stack_resources.append(proto.AnalyzerResource(**entry))
    return requests, proto.AnalyzeStackRequest(resources=stack_resources)


def evaluate(graph: Any, *, config: Mapping[str, Any] | None = None, analyzer: Analyzer | None = None,
             program_dir: Path | None = None) -> Report:
    """Every resource policy on every resource, then the stack policies, through the analyzer servicer."""
    analyzer = analyzer or Analyzer(config=config)
    requests, stack_request = analyze_requests(graph)
    previous = os.environ.get(PROGRAM_DIR_ENV)
    if program_dir is not None:
        os.environ[PROGRAM_DIR_ENV] = str(program_dir)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        violations: list[Violation] = []
        with _memoized_conversions():
            for request in requests:
                violations.extend(analyzer.analyze(request))
            violations.extend(analyzer.analyze_stack(stack_request))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        if program_dir is not None:
            if previous is None:
                os.environ.pop(PROGRAM_DIR_ENV, None)
            else:
                os.environ[PROGRAM_DIR_ENV] = previous
    return Report(resources=sum(1 for r in graph.resources if r.custom), violations=violations, seconds=seconds,
                  cpu_seconds=cpu_seconds)


def synthesize(program: Path, stack: str | None) -> Any:
    """The program's resource graph (the sandbox's synth); the program's own stdout goes to stderr."""
    from sandbox.synth import synth  # the one synth of the project (lead's module)

    with contextlib.redirect_stdout(sys.stderr):
        return synth(program, stack=stack)


def check(program: Path, *, stack: str | None = None, config: Mapping[str, Any] | None = None) -> Report:
    graph = synthesize(program, stack)
    return evaluate(graph, config=config, program_dir=program.resolve().parent)


# --------------------------------------------------------------------------- CLI
def _table(report: Report) -> str:
    lines = []
    for v in sorted(report.violations, key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn)):
        lines.append(f"{v.enforcement.upper():9}  {v.policy}  {v.urn or '(stack)'}")
        lines.extend(f"           {line}" for line in v.message.splitlines())
    mandatory = len(report.mandatory)
    lines.append(f"{report.resources} resources checked by {len(ALL_POLICIES)} policies: "
                 f"{mandatory} mandatory, {len(report.violations) - mandatory} other violations.")
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.check", description=__doc__.splitlines()[0])
    parser.add_argument("program", type=Path, help="the Pulumi program file, e.g. __main__.py")
    parser.add_argument("--stack", help="load Pulumi.<STACK>.yaml beside the program as config")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--policy-config", type=Path,
                        help="policy configuration JSON (the format of pulumi --policy-pack-config)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    config: dict[str, Any] = {}
    if args.policy_config is not None:
        try:
            config = json.loads(args.policy_config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            print(f"error: --policy-config {args.policy_config}: {err}", file=sys.stderr)
            return 2
    if not args.program.is_file():
        print(f"error: {args.program}: no such program file", file=sys.stderr)
        return 2
    try:
        graph = synthesize(args.program, args.stack)
    except Exception as err:  # the program itself failed: exit 2, message on stderr
        print(f"error: the program failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    report = evaluate(graph, config=config, program_dir=args.program.resolve().parent)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(_table(report))
    return 1 if report.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
