"""Render a synthesized graph the way ``pulumi preview`` does: a create plan as a tree, then counts."""

from __future__ import annotations

from collections.abc import Callable

from synth.graph import STACK_TYPE, Graph, Resource


def short_type(type_token: str) -> str:
    """``aws:lambda/function:Function`` -> ``aws:lambda:Function`` (the CLI's display form)."""
    parts = type_token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return type_token


def render_tree(graph: Graph, annotate: Callable[[Resource], str] | None = None) -> str:
    """The preview tree: every resource under its parent, in registration order."""
    by_parent: dict[str | None, list[Resource]] = {}
    for res in graph.resources:
        by_parent.setdefault(res.parent, []).append(res)
    rows: list[tuple[str, str, str]] = []

    def walk(res: Resource, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        note = annotate(res) if annotate else ""
        rows.append((f"{prefix}{branch}{short_type(res.type)}", res.name, note))
        children = by_parent.get(res.urn, [])
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, child in enumerate(children):
            walk(child, child_prefix, i == len(children) - 1, False)

    roots = [r for r in graph.resources if r.parent is None]
    for root in roots:
        walk(root, "", True, True)
    width = max((len(t) for t, _, _ in rows), default=4) + 2
    name_width = max((len(n) for _, n, _ in rows), default=4) + 2
    lines = [f"     {'Type':<{width}}{'Name':<{name_width}}Plan"]
    for type_text, name, note in rows:
        lines.append(f" +   {type_text:<{width}}{name:<{name_width}}create{('  ' + note) if note else ''}")
    return "\n".join(lines)


def render_summary(graph: Graph) -> str:
    counts = graph.counts_by_type()
    total = sum(counts.values()) + (1 if graph.by_type(STACK_TYPE) else 0)
    lines = ["", "Resources:", f"    + {total} to create", "", "By type:"]
    width = max((len(short_type(t)) for t in counts), default=10) + 2
    lines += [f"    {short_type(t):<{width}}{n:>4}" for t, n in counts.items()]
    outputs = {k: v for k, v in graph.outputs.items() if k != "cost_estimate"}
    if outputs:
        lines += ["", "Outputs:"]
        key_width = max(len(k) for k in outputs) + 2
        lines += [f"    {k:<{key_width}}: {v!r}" for k, v in sorted(outputs.items())]
    estimates = graph.outputs.get("cost_estimate")
    if isinstance(estimates, list) and estimates:
        lines += ["", f"Estimated monthly cost (USD, list prices as of {estimates[0].get('prices_as_of')}):"]
        width = max(len(str(e["name"])) for e in estimates) + 2
        lines += [f"    {e['name']:<{width}}{e['total_usd']:>10,.2f}" for e in estimates]
        lines.append(f"    {'total':<{width}}{sum(e['total_usd'] for e in estimates):>10,.2f}")
    return "\n".join(lines)
