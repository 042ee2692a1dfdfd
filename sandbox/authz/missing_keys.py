"""S3 answers that depend on the caller's rights, decided by the IAM engine (moto ignores the caller's policies).

Real S3 answers a ``GetObject``/``HeadObject`` of a missing key (or version) with ``404`` only when the caller
may ``s3:ListBucket`` the bucket for *this* request, which carries no ``s3:prefix``, so a grant conditioned
on ``s3:prefix`` does not count; otherwise ``403 AccessDenied``, exactly as for a key the caller may not read.
While :func:`install` is in effect, moto's S3 answers so:

* with the IAM enforcer on (:mod:`sandbox.authz.enforce`: Lambda code signs with its role's session, in worker
  processes), the session that signed the object request is evaluated for ``ListObjectsV2`` of the bucket
  by :func:`~sandbox.authz.policy.evaluate` (identity policies and the bucket policy, explicit deny wins),
  without recording a call in the access report; listings are the enforcer's to authorize;
* in an in-process run without the enforcer, :func:`acting_as` names the running function's role for the
  thread, and the same engine evaluates that role's policies (from the embedded IAM) for the missing-key
  answer and for ``ListObjects``/``ListObjectsV2`` with the request's ``s3:prefix``.

Requests signed with any other credentials, outside a function (tests, the sandbox CLI), act as the
account's administrator and are answered as moto does; roles unknown to the embedded IAM are not evaluated.

Example
-------
>>> with acting_as("arn:aws:iam::123456789012:role/etl-output"):            # doctest: +SKIP
...     s3.get_object(Bucket="processed", Key="missing")                    # ClientError AccessDenied
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sandbox.authz.calls import ApiCall, authorizations
from sandbox.authz.policy import Principal, evaluate

_CALLER = threading.local()
_ORIGINAL: dict[str, Any] = {}


@contextlib.contextmanager
def acting_as(role_arn: str | None) -> Iterator[None]:
    """Make S3 requests of this thread answer as they would for ``role_arn`` (a Lambda's execution role)."""
    saved = getattr(_CALLER, "role", None)
    _CALLER.role = role_arn
    try:
        yield
    finally:
        _CALLER.role = saved


def _enforced_principal() -> tuple[Any, Principal] | None:
    """(enforcer, principal) of the enforced session signing the S3 object request this thread answers."""
    from sandbox.authz import enforce

    enforcer = enforce._ACTIVE
    key = getattr(enforce._REQUEST, "access_key", None)
    session = enforcer.sessions.get(key) if enforcer is not None and key else None
    return (enforcer, session.principal) if session is not None else None


def _role_principal(role_arn: str) -> tuple[Any, Principal] | None:
    """(an evaluating enforcer, the role's principal) for an in-process function's role known to the IAM."""
    from sandbox.authz.enforce import Enforcer

    parts = role_arn.split(":")
    if len(parts) < 6:
        return None
    evaluator = Enforcer(parts[4], "us-east-1", enforce=False)
    try:
        evaluator.identity_policies(Principal(role_arn, role_arn=role_arn))
    except Exception:
        return None
    name = role_arn.rsplit("/", 1)[-1]
    return evaluator, Principal(f"arn:aws:sts::{parts[4]}:assumed-role/{name}/lambda", role_arn=role_arn)


def may_list(bucket: str, prefix: str | None, *, for_listing: bool) -> bool:
    """Whether the caller of the request being answered may ``ListObjectsV2`` ``bucket`` (with ``prefix``);
    True for callers nobody evaluates (see the module docstring)."""
    found = _enforced_principal()
    if found is not None and for_listing:
        return True  # the enforcer's hook authorizes listings itself (and records them)
    if found is None:
        role = getattr(_CALLER, "role", None)
        found = _role_principal(str(role)) if role else None
    if found is None:
        return True
    evaluator, principal = found
    params = {"Bucket": bucket, **({"Prefix": prefix} if prefix is not None else {})}
    call = ApiCall("s3", "ListObjectsV2", params, evaluator.region, evaluator.account_id)
    from sandbox.authz.enforce import MotoFacts

    for request in authorizations(call, principal, MotoFacts(evaluator.account_id)):
        policy, required = evaluator.resource_policy(request.resource)
        decision = evaluate(request, evaluator.identity_policies(principal), policy,
                            resource_policy_required=required)
        if not decision.allowed:
            return False
    return True


def _get_key(self: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.s3.exceptions import MissingKey, MissingVersion, S3AccessDeniedError

    try:
        return _ORIGINAL["_get_key"](self, *args, **kwargs)
    except (MissingKey, MissingVersion):
        if not may_list(self.bucket_name, None, for_listing=False):
            raise S3AccessDeniedError() from None
        raise


def _head_object(self: Any, bucket_name: str, query: Any, key_name: str, headers: Any) -> Any:
    status, response_headers, body = _ORIGINAL["head_object"](self, bucket_name, query, key_name, headers)
    if status == 404 and not may_list(bucket_name, None, for_listing=False):
        return 403, {}, ""
    return status, response_headers, body


def _listing(name: str) -> Any:
    def list_objects(self: Any) -> Any:
        from moto.s3.exceptions import S3AccessDeniedError

        prefix = self.querystring.get("prefix", [None])[0]
        if not may_list(self.bucket_name, prefix, for_listing=True):
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
