"""Run the sciflow pack offline: ``python -m policy.check PROGRAM [--stack NAME] [--json]``.

The program is synthesized under the Pulumi mocks (``synth.synth``), and every recorded registration is fed
to ``pulumi_policy``'s own analyzer servicer, the object the CLI talks to over gRPC (``synth.analysis``):
``Analyze`` with each resource's registered inputs (the ``RegisterResourceRequest.object`` Struct, so
archives, secrets and unknown values are deserialized exactly as in a preview) and ``AnalyzeStack`` with
every resource's outputs, parent, dependencies and property dependencies.

Output: a table of violations, or with ``--json`` exactly one JSON object on stdout::

    {"resources": <int>, "violations": [{"policy", "enforcement", "urn", "message"}]}

Exit status: 0 when there is no mandatory violation, 1 when there is, 2 when the program itself fails
or the run takes longer than ``--timeout SECONDS`` (default 300; the error on stderr). Values known only after
deployment are reported once, as the advisory ``could-not-be-evaluated-offline``; every check decidable from
the known values still runs and reports at its own level. ``--policy-config FILE`` takes the JSON that
``pulumi preview --policy-pack-config`` takes (``{"<policy>": "advisory" | {"enforcementLevel": ...,
"<property>": ...}}``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pulumi_policy import EnforcementLevel

from synth import SynthTimeout, synth
from synth.analysis import LEVEL_NAMES, PackAnalyzer, analyze_requests, memoized_conversions

from .policies import ALL_POLICIES, BY_NAME, PACK_NAME, SciflowResourcePolicy, SciflowStackPolicy
from .policies._archives import PROGRAM_DIR_ENV

PACK_VERSION = "0.1.0"
#: the name under which values that could not be evaluated offline are reported (once per run, advisory)
OFFLINE_POLICY = "could-not-be-evaluated-offline"
MAX_UNKNOWN_ITEMS = 20
DEFAULT_TIMEOUT_S = 300.0


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


class Analyzer:
    """The sciflow pack (or some of its policies) behind ``synth.analysis.PackAnalyzer``."""

    def __init__(self, policies: Sequence[SciflowResourcePolicy | SciflowStackPolicy] = tuple(ALL_POLICIES),
                 config: Mapping[str, Any] | None = None) -> None:
        self.resource_policies = [p for p in policies if isinstance(p, SciflowResourcePolicy)]
        self.stack_policies = [p for p in policies if isinstance(p, SciflowStackPolicy)]
        own = {p.name: (p.enforcement_level or EnforcementLevel.ADVISORY).value for p in BY_NAME.values()}
        self._pack = PackAnalyzer(PACK_NAME, PACK_VERSION, self.resource_policies, self.stack_policies,
                                  config=config, own_levels=own)

    def analyze(self, request: Any) -> list[Violation]:
        return [_violation(d, request.urn) for d in self._pack.analyze(request)]

    def analyze_stack(self, request: Any) -> list[Violation]:
        return [_violation(d, "") for d in self._pack.analyze_stack(request)]


def _violation(diag: Any, default_urn: str) -> Violation:
    return Violation(policy=diag.policyName, enforcement=LEVEL_NAMES.get(diag.enforcementLevel, "advisory"),
                     urn=diag.urn or default_urn, message=diag.message)


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
        with memoized_conversions():
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
    violations = _merge_unknowns(violations, graph, getattr(graph, "notes", []))
    return Report(resources=sum(1 for r in graph.resources if r.custom), violations=violations, seconds=seconds,
                  cpu_seconds=cpu_seconds)


_UNKNOWN = re.compile(r"^can't run policy '(?P<policy>[^']+)' from policy pack '[^']*' during preview: (?P<why>.*)$",
                      re.S)


def _merge_unknowns(violations: list[Violation], graph: Any, notes: Sequence[str]) -> list[Violation]:
    """The servicer's per-policy "can't run ... during preview" notes and the synth's notes, as one advisory.

    A value computed by AWS (or answered in part by a data source) is unknown offline; a policy that reads it
    reports everything it could decide from the known parts itself, so nothing decidable is lost here. The
    remaining notes say what was *not* evaluated, once, instead of one line per policy and resource.
    """
    names = {r.urn: r.name for r in graph.resources}
    kept: list[Violation] = []
    items: list[str] = []
    for v in violations:
        match = _UNKNOWN.match(v.message.split("\n", 1)[-1]) if v.enforcement == "advisory" else None
        if match is None:
            kept.append(v)
            continue
        where = names.get(v.urn, v.urn or "the stack")
        items.append(f"{match['policy']} on {where} ({match['why'].strip()})")
    items.extend(notes)
    if items:
        shown = items[:MAX_UNKNOWN_ITEMS] + ([f"... and {len(items) - MAX_UNKNOWN_ITEMS} more"]
                                            if len(items) > MAX_UNKNOWN_ITEMS else [])
        kept.append(Violation(policy=OFFLINE_POLICY, enforcement="advisory", urn="", message=(
            "Some values are known only after deployment, so these checks could not be evaluated offline "
            "(everything decidable from the known values was checked):\n" + "\n".join(f"- {i}" for i in shown))))
    return kept


def synthesize(program: Path, stack: str | None, *, timeout_s: float | None = None) -> Any:
    """The program's resource graph (``synth.synth``); the program's own stdout goes to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        return synth(program, stack=stack, timeout_s=timeout_s)


def check(program: Path, *, stack: str | None = None, config: Mapping[str, Any] | None = None,
          timeout_s: float | None = DEFAULT_TIMEOUT_S) -> Report:
    graph = synthesize(program, stack, timeout_s=timeout_s)
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
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"give up after SECONDS for the whole run, exit 2 (default {DEFAULT_TIMEOUT_S:g})")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    watchdog = _watchdog(args.timeout, args.program)
    try:
        return _run(args)
    finally:  # every way out stops the watchdog: an in-process caller must not be killed by it later
        watchdog.cancel()


def _run(args: argparse.Namespace) -> int:
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
        graph = synthesize(args.program, args.stack, timeout_s=args.timeout)
    except SynthTimeout:
        _timed_out(args.timeout, args.program)
    except Exception as err:  # the program itself failed: exit 2, message on stderr
        print(f"error: the program failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    report = evaluate(graph, config=config, program_dir=args.program.resolve().parent)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(_table(report))
    return 1 if report.mandatory else 0


def _timed_out(seconds: float, program: Path) -> NoReturn:
    """Exit 2 at once: the program's thread may still run and must not keep the process alive."""
    sys.stdout.flush()
    print(f"error: {program}: the check did not finish within {seconds:g} s (--timeout); the program may wait "
          f"forever (a loop, a blocking call, or an Output that never resolves). Raise --timeout if it is "
          f"only slow.", file=sys.stderr, flush=True)
    os._exit(2)


def _watchdog(seconds: float, program: Path) -> threading.Timer:
    timer = threading.Timer(seconds, _timed_out, args=(seconds, program))
    timer.daemon = True
    timer.start()
    return timer


if __name__ == "__main__":
    sys.exit(main())
