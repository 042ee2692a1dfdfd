"""AWS's policy evaluation logic for one request: identity policies, a resource policy, explicit deny wins.

:func:`evaluate` decides one :class:`AuthRequest` (principal, action, resource, context) against the
principal's identity policies and the target's resource-based policy (bucket, queue, topic, key policy,
Lambda permissions), the way AWS does within one account:

1. an explicit ``Deny`` in any applicable policy denies;
2. else an ``Allow`` in an identity policy *or* in the resource policy (for this principal) allows, except
3. for KMS keys, where the key policy must allow the principal itself, or allow the account (the
   ``arn:aws:iam::<account>:root`` principal) so that identity policies apply;
4. else the request is implicitly denied.

Statements are matched on ``Action``/``NotAction`` (case-insensitive wildcards), ``Resource``/``NotResource``
(wildcards and policy variables), ``Principal``/``NotPrincipal`` (resource policies) and ``Condition``
(:mod:`sandbox.authz.conditions`). Permissions boundaries, SCPs and session policies are not modelled: our
stacks use none.

Example
-------
>>> role = Principal("arn:aws:sts::123456789012:assumed-role/r/s", role_arn="arn:aws:iam::123456789012:role/r")
>>> doc = {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}]}
>>> evaluate(AuthRequest(role, "s3:GetObject", "arn:aws:s3:::b/k"), [PolicyDocument("p", doc)]).allowed
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.authz.conditions import (
    Context,
    PolicyGrammarError,
    condition_block_holds,
    resolve_variables,
    wildcard_match,
)


@dataclass(frozen=True)
class Principal:
    """Who makes a request.

    ``arn`` is the caller's ARN (an assumed-role session ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``,
    a user, or ``<service>.amazonaws.com`` for a service principal); ``role_arn`` the IAM role behind a session
    (resource policies name roles, not sessions).
    """

    arn: str
    role_arn: str | None = None
    service: str | None = None

    @property
    def account(self) -> str:
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""

    @classmethod
    def for_service(cls, service: str) -> Principal:
        return cls(arn=service, service=service)

    def context(self) -> dict[str, str]:
        """The principal's global condition keys (``aws:PrincipalArn``, ``aws:PrincipalAccount`` ...)."""
        if self.service:
            return {"aws:PrincipalServiceName": self.service, "aws:PrincipalIsAWSService": "true"}
        out = {"aws:PrincipalArn": self.role_arn or self.arn, "aws:PrincipalAccount": self.account,
               "aws:PrincipalIsAWSService": "false"}
        out["aws:PrincipalType"] = "AssumedRole" if ":assumed-role/" in self.arn else "User"
        return out


@dataclass(frozen=True)
class AuthRequest:
    """One (principal, action, resource, context) to authorize; ``resource`` is ``*`` for actions without one."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def full_context(self) -> dict[str, str | Sequence[str]]:
        return {**self.principal.context(), **self.context}


@dataclass(frozen=True)
class PolicyDocument:
    """A named policy: ``name`` says where it came from (``role/etl-ingest:inline/etl-ingest-policy``,
    ``bucket-policy:raw``)."""

    name: str
    document: Mapping[str, Any]

    @classmethod
    def parse(cls, name: str, text: str | Mapping[str, Any]) -> PolicyDocument:
        document = json.loads(text) if isinstance(text, str) else text
        if not isinstance(document, Mapping):
            raise PolicyGrammarError(f"{name}: a policy document is a JSON object")
        return cls(name, document)

    def statements(self) -> list[Mapping[str, Any]]:
        found = self.document.get("Statement", [])
        statements = [found] if isinstance(found, Mapping) else list(found)
        for index, statement in enumerate(statements):
            if statement.get("Effect") not in ("Allow", "Deny"):
                raise PolicyGrammarError(f"{self.name}: statement {index}: Effect must be Allow or Deny")
            if ("Action" in statement) == ("NotAction" in statement):
                raise PolicyGrammarError(f"{self.name}: statement {index}: exactly one of Action/NotAction")
        return statements


@dataclass(frozen=True)
class StatementRef:
    """Which statement decided: the policy's name, the statement's index and ``Sid``."""

    policy: str
    index: int
    sid: str | None
    effect: str

    def label(self) -> str:
        return f"{self.policy}#{self.sid or self.index}"


Outcome = Literal["allow", "explicit-deny", "implicit-deny"]


@dataclass(frozen=True)
class Decision:
    """The answer for one request, with the statements that decided it and, on a denial, AWS's reason."""

    request: AuthRequest
    outcome: Outcome
    statements: tuple[StatementRef, ...] = ()
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def action_matches(patterns: Sequence[str], action: str) -> bool:
    """IAM action patterns are case-insensitive (``s3:get*`` matches ``s3:GetObject``)."""
    return any(wildcard_match(p, action, ignore_case=True) for p in patterns)


def resource_matches(patterns: Sequence[str], resource: str, context: Context) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        resolved = resolve_variables(pattern, context)
        if resolved is not None and wildcard_match(resolved, resource):
            return True
    return False


def principal_matches(principal_element: Any, principal: Principal) -> bool:
    """``Principal`` of a resource policy: ``"*"``, ``{"AWS": ...}`` (account id, root, role, session ARN,
    ``*``), ``{"Service": ...}``."""
    if principal_element == "*":
        return True
    if not isinstance(principal_element, Mapping):
        raise PolicyGrammarError(f"Principal must be \"*\" or an object, not {principal_element!r}")
    if principal.service:
        return principal.service in _listed(principal_element.get("Service"))
    for value in _listed(principal_element.get("AWS")):
        if value == "*" or value in (principal.arn, principal.role_arn):
            return True
        # an account id or the account's root ARN names every principal of that account
        if value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
            return True
    return False


def _names_account_root(principal_element: Any, account: str) -> bool:
    if not isinstance(principal_element, Mapping):
        return False
    return any(v in (account, f"arn:aws:iam::{account}:root") for v in _listed(principal_element.get("AWS")))


def statement_applies(statement: Mapping[str, Any], request: AuthRequest, context: Context, *,
                      resource_policy: bool) -> bool:
    """Does ``statement`` cover this request (action, resource, principal and conditions)?"""
    if "Action" in statement:
        if not action_matches(_listed(statement["Action"]), request.action):
            return False
    elif action_matches(_listed(statement.get("NotAction")), request.action):
        return False
    if "Resource" in statement:
        if not resource_matches(_listed(statement["Resource"]), request.resource, context):
            return False
    elif "NotResource" in statement:
        if resource_matches(_listed(statement["NotResource"]), request.resource, context):
            return False
    elif not resource_policy:
        raise PolicyGrammarError("an identity policy statement needs Resource or NotResource")
    if resource_policy:
        if "Principal" in statement:
            if not principal_matches(statement["Principal"], request.principal):
                return False
        elif "NotPrincipal" in statement:
            if principal_matches(statement["NotPrincipal"], request.principal):
                return False
        else:
            raise PolicyGrammarError("a resource policy statement needs Principal or NotPrincipal")
    return condition_block_holds(statement.get("Condition"), context)


def _matching(policies: Sequence[PolicyDocument], request: AuthRequest, context: Context,
              *, resource_policy: bool) -> list[StatementRef]:
    found: list[StatementRef] = []
    for policy in policies:
        for index, statement in enumerate(policy.statements()):
            if statement_applies(statement, request, context, resource_policy=resource_policy):
                found.append(StatementRef(policy.name, index, statement.get("Sid"), str(statement["Effect"])))
    return found


def evaluate(request: AuthRequest, identity_policies: Sequence[PolicyDocument],
             resource_policy: PolicyDocument | None = None, *, resource_policy_required: bool = False) -> Decision:
    """Decide ``request`` as AWS does within one account (see the module docstring).

    ``resource_policy_required`` is KMS's rule: the key policy must grant access (to the principal, or to the
    account root so that identity policies count).
    """
    context = request.full_context()
    identity = _matching(identity_policies, request, context, resource_policy=False)
    resource = _matching([resource_policy] if resource_policy else [], request, context, resource_policy=True)
    denies = tuple(ref for ref in (*identity, *resource) if ref.effect == "Deny")
    if denies:
        where = "a resource-based policy" if any(ref in resource for ref in denies) else "an identity-based policy"
        return Decision(request, "explicit-deny", denies, f"with an explicit deny in {where}")
    identity_allows = tuple(ref for ref in identity if ref.effect == "Allow")
    resource_allows = tuple(ref for ref in resource if ref.effect == "Allow")
    if resource_policy_required:
        if resource_allows and _key_policy_allows_directly(resource_policy, resource_allows, request):
            return Decision(request, "allow", resource_allows)
        root_delegates = resource_policy is not None and any(
            _names_account_root(resource_policy.statements()[ref.index].get("Principal"), request.principal.account)
            for ref in resource_allows)
        if root_delegates and identity_allows:
            return Decision(request, "allow", identity_allows + resource_allows)
        if not root_delegates:
            return Decision(request, "implicit-deny", (), "because no resource-based policy allows the "
                            f"{request.action} action")
        return Decision(request, "implicit-deny", (), "because no identity-based policy allows the "
                        f"{request.action} action")
    if identity_allows or resource_allows:
        return Decision(request, "allow", identity_allows + resource_allows)
    return Decision(request, "implicit-deny", (),
                    f"because no identity-based policy allows the {request.action} action")


def _key_policy_allows_directly(policy: PolicyDocument | None, allows: Sequence[StatementRef],
                                request: AuthRequest) -> bool:
    """A key policy statement naming the principal itself (not just the account) allows on its own."""
    if policy is None:
        return False
    statements = policy.statements()
    return any(not _names_account_root(statements[ref.index].get("Principal"), request.principal.account)
               for ref in allows)
