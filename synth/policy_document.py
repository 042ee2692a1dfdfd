"""``aws.iam.get_policy_document`` computed offline, as the AWS provider renders it.

The provider (``data_source_iam_policy_document``) merges ``sourcePolicyDocuments`` (base), then the document's
own ``statements`` (replacing source statements with the same ``Sid``), then ``overridePolicyDocuments``
(replacing statements with the same ``Sid``, appending the rest). A statement renders ``Sid`` (when set),
``Effect`` (default ``Allow``), ``Action``/``NotAction``, ``Resource``/``NotResource`` and principals as a string
when there is one value and a list otherwise (sets, in descending order, like the provider), a ``*`` principal
of type ``*`` as ``"*"``, and ``Condition`` as ``{test: {variable: values}}``. ``&{...}`` becomes ``${...}``.

Example
-------
>>> doc = policy_document({"statements": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]}]})
>>> json.loads(doc["json"])["Statement"][0]
{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::b/*'}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_VERSION = "2012-10-17"


def _interpolate(value: Any) -> Any:
    return value.replace("&{", "${") if isinstance(value, str) else value


def _set(values: Iterable[Any] | None) -> Any:
    items = sorted({str(_interpolate(v)) for v in values or []}, reverse=True)
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def _principals(items: Iterable[Mapping[str, Any]] | None) -> Any:
    out: dict[str, list[str]] = {}
    for item in items or []:
        out.setdefault(str(item.get("type")), []).extend(str(i) for i in item.get("identifiers") or [])
    if not out:
        return None
    if set(out) == {"*"} and set(out["*"]) <= {"*"}:
        return "*"
    return {kind: _set(ids) for kind, ids in sorted(out.items())}


def _conditions(items: Iterable[Mapping[str, Any]] | None) -> Any:
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        values = [str(_interpolate(v)) for v in item.get("values") or []]
        out.setdefault(str(item.get("test")), {})[str(item.get("variable"))] = (
            values[0] if len(values) == 1 else values)
    return out or None


def render_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    """One ``statements`` entry (camelCase keys, as the program passes them) as IAM JSON."""
    rendered: dict[str, Any] = {}
    if statement.get("sid"):
        rendered["Sid"] = statement["sid"]
    rendered["Effect"] = statement.get("effect") or "Allow"
    for key, name in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"),
                      ("notResources", "NotResource")):
        value = _set(statement.get(key))
        if value is not None:
            rendered[name] = value
    for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        value = _principals(statement.get(key))
        if value is not None:
            rendered[name] = value
    conditions = _conditions(statement.get("conditions"))
    if conditions:
        rendered["Condition"] = conditions
    return rendered


def _statements_of(document: Any) -> list[dict[str, Any]]:
    if not document:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement") or []
    return [dict(s) for s in ([statements] if isinstance(statements, dict) else statements)]


def _merge(base: list[dict[str, Any]], overrides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(base)
    for statement in overrides:
        sid = statement.get("Sid")
        index = next((i for i, s in enumerate(out) if sid and s.get("Sid") == sid), None)
        if index is None:
            out.append(statement)
        else:
            out[index] = statement
    return out


def policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The data source's result for ``args`` (camelCase): ``json``, ``minifiedJson``, ``id`` and the inputs."""
    merged: list[dict[str, Any]] = []
    for source in [*(args.get("sourcePolicyDocuments") or []), args.get("sourceJson")]:
        merged = _merge(merged, _statements_of(source))
    merged = _merge(merged, [render_statement(s) for s in args.get("statements") or []])
    for override in [args.get("overrideJson"), *(args.get("overridePolicyDocuments") or [])]:
        merged = _merge(merged, _statements_of(override))
    document: dict[str, Any] = {"Version": args.get("version") or DEFAULT_VERSION}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = merged
    text = json.dumps(document, indent=2)
    minified = json.dumps(document, separators=(",", ":"))
    return {**{k: v for k, v in args.items()}, "json": text, "minifiedJson": minified,
            "id": str(int(hashlib.sha256(minified.encode()).hexdigest()[:8], 16)),
            "version": document["Version"]}
