"""S3 answers that depend on the caller's role, as real S3 gives them (moto ignores the caller's policies).

While an in-process Lambda runs, :func:`acting_as` records its execution role for the thread, and two S3
answers follow that role's policies (inline and attached, as the deploy put them into the embedded IAM):

* ``GetObject``/``HeadObject`` of a missing key or version answers ``404`` only when the role may
  ``s3:ListBucket`` the bucket for this request; a ``GetObject`` carries no ``s3:prefix``, so a grant
  conditioned on ``s3:prefix`` does not count and S3 answers ``403 AccessDenied``, exactly as AWS documents
  for GetObject/HeadObject.
* ``ListObjects``/``ListObjectsV2`` by a Lambda is allowed only when a statement allows ``s3:ListBucket`` on
  the bucket and its conditions hold for the request (``s3:prefix``, ``aws:SecureTransport``).

With the IAM enforcer on (``sandbox.authz``: Lambda code signs with its role's session, in worker processes),
the missing-key answer is decided by the enforcer's evaluation of ``s3:ListBucket`` for that session, and
listings are the enforcer's to authorize. Everything else is moto's behaviour. Requests made outside a Lambda
(tests, the sandbox CLI) act as the account's administrator, unchanged. Roles unknown to the embedded IAM are
not evaluated.

Example
-------
>>> with acting_as("arn:aws:iam::123456789012:role/etl-output"):            # doctest: +SKIP
...     s3.get_object(Bucket="processed", Key="missing")                    # ClientError AccessDenied
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any

_CALLER = threading.local()
_ORIGINAL: dict[str, Any] = {}
_SECURE_TRANSPORT = {"aws:securetransport": "true"}  # boto3 talks HTTPS to AWS


@contextlib.contextmanager
def acting_as(role_arn: str | None) -> Iterator[None]:
    """Make S3 requests of this thread answer as they would for ``role_arn`` (a Lambda's execution role)."""
    saved = getattr(_CALLER, "role", None)
    _CALLER.role = role_arn
    try:
        yield
    finally:
        _CALLER.role = saved


def _statements(role_arn: str) -> list[dict[str, Any]] | None:
    """Every statement of the role's inline and attached policies; ``None`` when the role is unknown."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else DEFAULT_ACCOUNT_ID
    try:
        role = iam_backends[account]["global"].get_role_by_arn(role_arn)
    except Exception:
        return None
    documents: list[Any] = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents += [v.document for v in policy.versions if v.version_id == policy.default_version_id]
    out: list[dict[str, Any]] = []
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        statements = parsed.get("Statement", [])
        out.extend([statements] if isinstance(statements, dict) else statements)
    return out


def glob_match(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character, nothing else is special.

    Example
    -------
    >>> glob_match("in/*", "in/[a] b.csv"), glob_match("S3:List*", "s3:listbucket", case=False)
    (True, True)
    """
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=0 if case else re.IGNORECASE | re.DOTALL) is not None


def _listify(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """``StringEquals``/``StringLike``/``Bool`` (and ``...IfExists``) against ``context``; others never hold."""
    for operator, tests in condition.items():
        base, if_exists = (operator[:-8], True) if operator.endswith("IfExists") else (operator, False)
        if base not in ("StringEquals", "StringLike", "Bool") or not isinstance(tests, Mapping):
            return False
        for key, expected in tests.items():
            actual = context.get(str(key).lower())
            if actual is None:
                if if_exists:
                    continue
                return False
            values = _listify(expected)
            if base == "StringLike":
                ok = any(glob_match(v, actual) for v in values)
            elif base == "Bool":
                ok = actual.lower() in {v.lower() for v in values}
            else:
                ok = actual in values
            if not ok:
                return False
    return True


def _matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    actions = _listify(statement.get("Action", []))
    resources = _listify(statement.get("Resource", []))
    return (any(glob_match(a, action, case=False) for a in actions)
            and any(glob_match(r, resource) for r in resources)
            and _condition_holds(statement.get("Condition") or {}, context))


def allowed(statements: list[dict[str, Any]], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """IAM's evaluation for one identity: an explicit Deny wins, else an Allow is needed.

    Example
    -------
    >>> st = [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
    ...        "Condition": {"StringLike": {"s3:prefix": "in/*"}}}]
    >>> allowed(st, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "in/a.csv"}), allowed(st, "s3:ListBucket",
    ...                                                                                   "arn:aws:s3:::b", {})
    (True, False)
    """
    context = {k.lower(): v for k, v in {**_SECURE_TRANSPORT, **context}.items()}
    matching = [s for s in statements if _matches(s, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)


def _enforced_may_list(bucket: str) -> bool | None:
    """With the IAM enforcer on (``sandbox.authz``), whether the session signing this object request may
    ``ListObjectsV2`` the bucket with no prefix (what S3 checks for a missing key); ``None`` when the request
    is not signed by an enforced session. Decided without recording a call in the access report."""
    from sandbox.authz import enforce

    enforcer = enforce._ACTIVE
    key = getattr(enforce._REQUEST, "access_key", None)
    session = enforcer.sessions.get(key) if enforcer is not None and key else None
    if enforcer is None or session is None:
        return None
    call = enforce.ApiCall("s3", "ListObjectsV2", {"Bucket": bucket}, enforcer.region, enforcer.account_id)
    for request in enforce.authorizations(call, session.principal, enforce.MotoFacts(enforcer.account_id)):
        policy, required = enforcer.resource_policy(request.resource)
        decision = enforce.evaluate(request, enforcer.identity_policies(session.principal), policy,
                                    resource_policy_required=required)
        if not decision.allowed:
            return False
    return True


def _may_list(bucket: str, context: Mapping[str, str]) -> bool:
    if not context:  # a read of a missing key: the enforcer's session decides when there is one
        enforced = _enforced_may_list(bucket)
        if enforced is not None:
            return enforced
    role = getattr(_CALLER, "role", None)
    if not role:
        return True
    statements = _statements(role)
    return statements is None or allowed(statements, "s3:ListBucket", f"arn:aws:s3:::{bucket}", context)


def _get_key(self: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.s3.exceptions import MissingKey, MissingVersion, S3AccessDeniedError

    try:
        return _ORIGINAL["_get_key"](self, *args, **kwargs)
    except (MissingKey, MissingVersion):
        if not _may_list(self.bucket_name, {}):
            raise S3AccessDeniedError() from None
        raise


def _head_object(self: Any, bucket_name: str, query: Any, key_name: str, headers: Any) -> Any:
    status, response_headers, body = _ORIGINAL["head_object"](self, bucket_name, query, key_name, headers)
    if status == 404 and not _may_list(bucket_name, {}):
        return 403, {}, ""
    return status, response_headers, body


def _listing(name: str) -> Any:
    def list_objects(self: Any) -> Any:
        from moto.s3.exceptions import S3AccessDeniedError

        prefix = self.querystring.get("prefix", [None])[0]
        if not _may_list(self.bucket_name, {"s3:prefix": prefix} if prefix is not None else {}):
            raise S3AccessDeniedError()
        return _ORIGINAL[name](self)

    return list_objects


def install() -> None:
    """Patch moto's S3 responses (idempotent)."""
    from moto.s3.responses import S3Response

    if _ORIGINAL:
        return
    for name, patched in (("_get_key", _get_key), ("head_object", _head_object),
                          ("list_objects", _listing("list_objects")), ("list_objects_v2", _listing("list_objects_v2"))):
        _ORIGINAL[name] = S3Response.__dict__[name]
        setattr(S3Response, name, patched)


def uninstall() -> None:
    """Undo :func:`install`."""
    from moto.s3.responses import S3Response

    for name, original in _ORIGINAL.items():
        setattr(S3Response, name, original)
    _ORIGINAL.clear()
