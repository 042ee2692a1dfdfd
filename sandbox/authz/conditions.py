"""IAM condition operators, evaluated as AWS's policy evaluation logic defines them.

A condition block (``{"StringLike": {"s3:prefix": ["in/*"]}}``) holds when every operator holds (AND), and an
operator holds when every key under it holds (AND). For one key, the policy's values are ORed, except for the
negated operators (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress`` ...), where they are NORed. A key missing
from the request context makes a positive operator false and a negated one true; ``...IfExists`` makes any
operator true on a missing key, ``Null`` tests presence itself. ``ForAnyValue:`` / ``ForAllValues:`` compare a
multi-valued key value by value (``ForAllValues`` is true on a missing or empty key, ``ForAnyValue`` false).

Request context values are strings or lists of strings. Policy variables (``${aws:SourceAccount}``,
``${aws:username, 'default'}``, ``${*}`` ...) are resolved in the policy values of the string and ARN operators
before comparing; an unresolved variable without a default makes that value match nothing.

Example
-------
>>> condition_block_holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"})
False
>>> condition_block_holds({"StringLike": {"s3:prefix": ["staging/*"]}}, {"s3:prefix": "staging/run-1/"})
True
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Context = Mapping[str, "str | Sequence[str]"]


class PolicyGrammarError(ValueError):
    """A policy uses an operator or a value AWS would reject (``MalformedPolicyDocument``)."""


# --------------------------------------------------------------------------------------------------
# Wildcards and policy variables
# --------------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def resolve_variables(value: str, context: Context) -> str | None:
    """``value`` with every ``${key}`` replaced from ``context``; None when a variable has no value.

    ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters (they are escaped so a ``*`` from
    ``${*}`` is not a wildcard: the result marks them with ``\\x00``). ``${key, 'default'}`` uses the default
    when the key is missing.

    >>> resolve_variables("arn:aws:s3:::b/${aws:username}/*", {"aws:username": "ana"})
    'arn:aws:s3:::b/ana/*'
    >>> resolve_variables("${aws:username}", {}) is None
    True
    """
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        body = match.group(1).strip()
        if body in _SPECIAL:
            return "\x00" + _SPECIAL[body]
        name, _, default = body.partition(",")
        found = _lookup(context, name.strip())
        if found is not None:
            first = found if isinstance(found, str) else (found[0] if found else None)
            if first is not None:
                return first
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
        missing = True
        return ""

    resolved = _VARIABLE.sub(replace, value)
    return None if missing else resolved


def wildcard_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """A compiled regex for an IAM pattern: ``*`` any run of characters, ``?`` one character.

    Characters produced by ``${*}``/``${?}`` (marked ``\\x00``) are literals.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\x00" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Does ``value`` match the IAM wildcard ``pattern`` as a whole?

    >>> wildcard_match("s3:Get*", "s3:GetObject"), wildcard_match("arn:aws:s3:::b/?", "arn:aws:s3:::b/ab")
    (True, False)
    """
    return wildcard_regex(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def _literal(value: str) -> str:
    return value.replace("\x00", "")


def _lookup(context: Context, key: str) -> str | Sequence[str] | None:
    """Context keys are case-insensitive (``aws:SourceArn`` == ``aws:sourcearn``)."""
    if key in context:
        return context[key]
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


# --------------------------------------------------------------------------------------------------
# One comparison: request value vs one policy value
# --------------------------------------------------------------------------------------------------


def _arn_parts(value: str) -> list[str] | None:
    parts = value.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def _arn_like(pattern: str, value: str) -> bool:
    """ARN matching: the six colon-delimited parts are compared one by one, each with wildcards."""
    want, have = _arn_parts(pattern), _arn_parts(value)
    if want is None or have is None:
        return wildcard_match(pattern, value)
    return all(wildcard_match(p, v) for p, v in zip(want, have, strict=True))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PolicyGrammarError(f"not a number: {text!r}") from None


def _date(text: str) -> float:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", stripped):
        return float(stripped)
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise PolicyGrammarError(f"not a date: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _ip(policy: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


Comparison = Callable[[str, str], bool]


# one comparison each: (policy value, request value) -> bool; named functions, not lambdas, so mutation testing
# reaches them (docs/BENCHMARKS.md, "Sandbox authorization: mutation testing")
def _string_equals(policy: str, value: str) -> bool:
    return _literal(policy) == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return _literal(policy).lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    return wildcard_match(policy, value)


def _numeric_equals(policy: str, value: str) -> bool:
    return _number(value) == _number(policy)


def _numeric_less_than(policy: str, value: str) -> bool:
    return _number(value) < _number(policy)


def _numeric_less_than_equals(policy: str, value: str) -> bool:
    return _number(value) <= _number(policy)


def _numeric_greater_than(policy: str, value: str) -> bool:
    return _number(value) > _number(policy)


def _numeric_greater_than_equals(policy: str, value: str) -> bool:
    return _number(value) >= _number(policy)


def _date_equals(policy: str, value: str) -> bool:
    return _date(value) == _date(policy)


def _date_less_than(policy: str, value: str) -> bool:
    return _date(value) < _date(policy)


def _date_less_than_equals(policy: str, value: str) -> bool:
    return _date(value) <= _date(policy)


def _date_greater_than(policy: str, value: str) -> bool:
    return _date(value) > _date(policy)


def _date_greater_than_equals(policy: str, value: str) -> bool:
    return _date(value) >= _date(policy)


def _binary_equals(policy: str, value: str) -> bool:
    return policy == value


# base operator -> (compare(policy_value, request_value), negated, resolves variables)
_BASE: dict[str, tuple[Comparison, bool, bool]] = {
    "StringEquals": (_string_equals, False, True),
    "StringNotEquals": (_string_equals, True, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False, True),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True, True),
    "StringLike": (_string_like, False, True),
    "StringNotLike": (_string_like, True, True),
    "NumericEquals": (_numeric_equals, False, False),
    "NumericNotEquals": (_numeric_equals, True, False),
    "NumericLessThan": (_numeric_less_than, False, False),
    "NumericLessThanEquals": (_numeric_less_than_equals, False, False),
    "NumericGreaterThan": (_numeric_greater_than, False, False),
    "NumericGreaterThanEquals": (_numeric_greater_than_equals, False, False),
    "DateEquals": (_date_equals, False, False),
    "DateNotEquals": (_date_equals, True, False),
    "DateLessThan": (_date_less_than, False, False),
    "DateLessThanEquals": (_date_less_than_equals, False, False),
    "DateGreaterThan": (_date_greater_than, False, False),
    "DateGreaterThanEquals": (_date_greater_than_equals, False, False),
    "Bool": (_string_equals_ignore_case, False, True),
    "BinaryEquals": (_binary_equals, False, False),
    "IpAddress": (_ip, False, False),
    "NotIpAddress": (_ip, True, False),
    "ArnEquals": (_arn_like, False, True),
    "ArnLike": (_arn_like, False, True),
    "ArnNotEquals": (_arn_like, True, True),
    "ArnNotLike": (_arn_like, True, True),
}


def parse_operator(name: str) -> tuple[str | None, str, bool]:
    """Split ``ForAnyValue:StringLikeIfExists`` into (``ForAnyValue``, ``StringLike``, if_exists=True).

    >>> parse_operator("ForAllValues:StringEqualsIfExists")
    ('ForAllValues', 'StringEquals', True)
    """
    qualifier: str | None = None
    rest = name
    if ":" in name:
        qualifier, _, rest = name.partition(":")
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise PolicyGrammarError(f"unknown condition set qualifier {qualifier!r} in {name!r}")
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base != "Null" and base not in _BASE:
        raise PolicyGrammarError(f"unknown condition operator {name!r}")
    if base == "Null" and (if_exists or qualifier):
        raise PolicyGrammarError(f"{name!r}: Null takes no IfExists suffix or set qualifier")
    return qualifier, base, if_exists


def _as_list(value: Any) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    return ["true" if v is True else "false" if v is False else str(v) for v in values]


def operator_holds(operator: str, key: str, policy_values: Any, context: Context) -> bool:
    """One ``operator: {key: values}`` entry against the request context."""
    qualifier, base, if_exists = parse_operator(operator)
    wanted = _as_list(policy_values)
    present = _lookup(context, key)
    request_values = [] if present is None else [present] if isinstance(present, str) else list(present)
    if base == "Null":
        # "true": the key must be absent (or empty); "false": it must be present
        absent = not request_values
        return any((w.lower() == "true") == absent for w in wanted)
    compare, negated, variables = _BASE[base]
    if variables:
        resolved = [resolve_variables(w, context) for w in wanted]
        wanted = [r for r in resolved if r is not None]
    if qualifier is None:
        if not request_values:
            return if_exists or negated
        matches = [any(compare(w, v) for w in wanted) for v in request_values]
        # a single-valued operator on a multi-valued key: true when any value satisfies it
        return any(not m for m in matches) if negated else any(matches)
    if not request_values:
        return qualifier == "ForAllValues" or if_exists

    def one(value: str) -> bool:
        hit = any(compare(w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAnyValue":
        return any(one(v) for v in request_values)
    return all(one(v) for v in request_values)


def condition_block_holds(block: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    """Does a statement's whole ``Condition`` block hold for ``context``? (empty: yes)"""
    if not block:
        return True
    for operator, entries in block.items():
        if not isinstance(entries, Mapping):
            raise PolicyGrammarError(f"condition operator {operator!r} needs an object of keys")
        for key, values in entries.items():
            if not operator_holds(operator, key, values, context):
                return False
    return True


def now_context() -> dict[str, str]:
    """``aws:CurrentTime`` and ``aws:EpochTime`` for a request made now."""
    now = datetime.now(UTC)
    return {"aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp()))}
