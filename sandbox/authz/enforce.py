"""IAM enforcement inside moto: every request signed with a sandbox-issued role session is authorized.

:class:`Enforcer` issues credentials for role sessions (a Lambda function's role, a state machine's role, a
Scheduler or EventBridge target role — the trust policy is checked as AWS's STS would) and for service
principals (EventBridge invoking a Lambda function, checked against the function's resource policy). While
installed, it hooks moto's one authorization point (``ActionAuthenticatorMixin._authenticate_and_authorize_action``,
called for every service's request, S3 included): a request signed with one of those access keys is mapped
to IAM requests (:mod:`sandbox.authz.calls`), each evaluated (:mod:`sandbox.authz.policy`) against the role's
inline and attached policies and the target's resource policy read from moto's backends (bucket, queue,
topic, key policies, Lambda function policies). A denial answers with the service's own AccessDenied error;
every decision is recorded for the access report. Requests with any other credentials (the sandbox's own
deploy and test clients) are not checked, like an administrator's.

Step Functions service integrations (Task, Map ``ItemReader``/``ResultWriter``) run in moto through
``boto_client_for``; while installed, those clients sign with a session of the executing state machine's role.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.authz import catalog
from sandbox.authz.calls import ApiCall, authorizations
from sandbox.authz.errors import denial_message, error_response, s3_access_denied
from sandbox.authz.policy import AuthRequest, Decision, PolicyDocument, Principal, StatementRef, evaluate
from sandbox.authz.reasons import RoleFacts

PARTITION = "aws"


@dataclass(frozen=True)
class Session:
    """Credentials issued by the enforcer, and who they stand for."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    principal: Principal
    context: Mapping[str, str] = field(default_factory=dict)  # aws:SourceArn / aws:SourceAccount of services

    def env(self) -> dict[str, str]:
        """The variables Lambda sets for the function's role credentials."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}


@dataclass(frozen=True)
class CallRecord:
    """One authorized (or denied) IAM request, for the access report."""

    principal: str  # role ARN, or the service principal
    service: str
    operation: str
    action: str
    resource: str
    allowed: bool
    statements: tuple[StatementRef, ...]
    message: str = ""


class Denied(Exception):
    """Raised inside moto to answer with the service's AccessDenied error."""

    def __init__(self, service: str, protocol: str, message: str) -> None:
        super().__init__(message)
        self.status, self.headers, self.body = error_response(service, protocol, message)


class Enforcer:
    """Issues role/service sessions and authorizes the requests signed with them (see the module docstring)."""

    def __init__(self, account_id: str, region: str, *, enforce: bool = True) -> None:
        self.account_id = account_id
        self.region = region
        self.enforce = enforce
        self.sessions: dict[str, Session] = {}
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()
        self._cached_sessions: dict[str, Session] = {}

    # ---------------------------------------------------------------- sessions

    def _issue(self, principal: Principal, context: Mapping[str, str] | None = None) -> Session:
        session = Session("ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30),
                          secrets.token_urlsafe(60), principal, dict(context or {}))
        with self._lock:
            self.sessions[session.access_key_id] = session
        return session

    def role_session(self, role_arn: str, session_name: str, *, service: str, source_arn: str | None = None) -> Session:
        """A session of ``role_arn`` assumed by ``service`` (the role's trust policy must allow it)."""
        role = self._role(role_arn)
        trust = PolicyDocument.parse(f"trust-policy:{role.name}", role.assume_role_policy_document)
        context = {"aws:SourceAccount": self.account_id, **({"aws:SourceArn": source_arn} if source_arn else {})}
        request = AuthRequest(Principal.for_service(service), "sts:AssumeRole", role_arn, context)
        decision = evaluate(request, [], trust)
        self._record("sts", "AssumeRole", decision)
        if not decision.allowed and self.enforce:
            raise PermissionError(f"{service} cannot assume {role_arn}: {denial_message(decision)}")
        name = role_arn.rsplit("/", 1)[-1]
        arn = f"arn:{PARTITION}:sts::{self.account_id}:assumed-role/{name}/{session_name}"
        return self._issue(Principal(arn, role_arn=role_arn))

    def function_session(self, role_arn: str, function_name: str, function_arn: str) -> Session:
        """The (cached) session of a Lambda function's execution role, as the runtime hands it to the code."""
        key = f"{function_arn}|{role_arn}"
        with self._lock:
            found = self._cached_sessions.get(key)
        if found is None:
            found = self.role_session(role_arn, function_name, service="lambda.amazonaws.com", source_arn=function_arn)
            with self._lock:
                self._cached_sessions[key] = found
        return found

    def service_session(self, service: str, *, source_arn: str) -> Session:
        """Credentials standing for ``service`` acting for ``source_arn`` (checked against resource policies)."""
        return self._issue(Principal.for_service(service),
                           {"aws:SourceArn": source_arn, "aws:SourceAccount": self.account_id})

    def state_machine_session(self, state_machine_arn: str) -> Session | None:
        """A (cached) session of the state machine's role, for its service integrations."""
        with self._lock:
            found = self._cached_sessions.get(state_machine_arn)
        if found is not None:
            return found
        from moto.stepfunctions.models import stepfunctions_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        region = state_machine_arn.split(":")[3]
        machine = None
        # with execution on, moto keeps state machines in its parser backend
        for backends in (stepfunctions_parser_backends, stepfunctions_backends):
            with contextlib.suppress(Exception):
                machine = backends[self.account_id][region].describe_state_machine(state_machine_arn)
                break
        if machine is None:
            return None
        session = self.role_session(machine.roleArn, "sfn-execution", service="states.amazonaws.com",
                                    source_arn=state_machine_arn)
        with self._lock:
            self._cached_sessions[state_machine_arn] = session
        return session

    # ---------------------------------------------------------------- policies from moto's backends

    def _role(self, role_arn: str) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account_id][PARTITION].get_role_by_arn(role_arn)

    def identity_policies(self, principal: Principal) -> list[PolicyDocument]:
        if principal.role_arn is None:
            return []
        role = self._role(principal.role_arn)
        found = [PolicyDocument.parse(f"{role.name}:inline/{name}", text)
                 for name, text in sorted(role.policies.items())]
        for arn, policy in sorted(role.managed_policies.items()):
            version = next((v for v in policy.versions if v.is_default), None)
            if version is not None:
                found.append(PolicyDocument.parse(f"{role.name}:managed/{arn.rsplit('/', 1)[-1]}", version.document))
        return found

    def roles(self) -> dict[str, tuple[str, list[PolicyDocument]]]:
        """Every role in the embedded AWS: name -> (ARN, identity policies), for the access report."""
        from moto.iam.models import iam_backends

        backend = iam_backends[self.account_id][PARTITION]
        return {role.name: (role.arn, self.identity_policies(Principal(role.arn, role_arn=role.arn)))
                for role in backend.roles.values()}

    def role_facts(self, kinds: Mapping[str, str] | None = None) -> dict[str, RoleFacts]:
        """Per role name: its kind (from ``kinds``, role name -> :func:`~sandbox.authz.reasons.principal_kind`),
        the services its trust policy admits, and the state machines that run as it."""
        from moto.iam.models import iam_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        machines: dict[str, list[str]] = {}
        with contextlib.suppress(Exception):
            for machine in stepfunctions_parser_backends[self.account_id][self.region].state_machines:
                machines.setdefault(str(machine.roleArn), []).append(str(machine.arn))
        facts: dict[str, RoleFacts] = {}
        for role in iam_backends[self.account_id][PARTITION].roles.values():
            trust = PolicyDocument.parse(f"trust-policy:{role.name}", role.assume_role_policy_document)
            trusted = sorted({service for statement in trust.statements() if statement.get("Effect") == "Allow"
                              for service in _listed((statement.get("Principal") or {}).get("Service")
                                                     if isinstance(statement.get("Principal"), Mapping) else None)})
            facts[role.name] = RoleFacts((kinds or {}).get(role.name, ""), tuple(trusted),
                                         tuple(sorted(machines.get(role.arn, []))))
        return facts

    def report(self, kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The access report (:func:`sandbox.authz.report.access_report`) of everything recorded so far;
        ``kinds`` maps role names to their principal kinds (see :meth:`role_facts`)."""
        from sandbox.authz.report import access_report

        with self._lock:
            records = list(self.records)
        return access_report(records, self.roles(), enforced=self.enforce, facts=self.role_facts(kinds))

    def resource_policy(self, resource: str) -> tuple[PolicyDocument | None, bool]:
        """(the resource's policy, whether it is required as KMS key policies are)."""
        parts = resource.split(":", 5)
        if len(parts) < 6:
            return None, False
        service, region, name = parts[2], parts[3], parts[5]
        text: Any = None
        label = ""
        with contextlib.suppress(Exception):
            if service == "s3":
                from moto.s3.models import s3_backends

                label = name.split("/", 1)[0]
                bucket = s3_backends[self.account_id][PARTITION].buckets.get(label)
                text = bucket.policy if bucket is not None else None
            elif service == "sqs":
                from moto.sqs.models import sqs_backends

                label = name
                queue = sqs_backends[self.account_id][region].queues.get(name)
                text = queue.policy if queue is not None else None
            elif service == "sns":
                from moto.sns.models import sns_backends

                label = name
                topic = sns_backends[self.account_id][region].topics.get(resource)
                text = topic.policy if topic is not None else None
            elif service == "kms" and name.startswith("key/"):
                from moto.kms.models import kms_backends

                label = name[4:]
                key = kms_backends[self.account_id][region].keys.get(label)
                text = key.policy if key is not None else None
            elif service == "lambda" and name.startswith("function:"):
                from moto.awslambda.models import lambda_backends

                label = name.split(":")[1]
                text = lambda_backends[self.account_id][region].get_policy(label)
        kinds = {"s3": "bucket", "sqs": "queue", "sns": "topic", "kms": "key", "lambda": "function"}
        if isinstance(text, bytes):
            text = text.decode()
        policy = PolicyDocument.parse(f"{kinds.get(service, service)}-policy:{label}", text) if text else None
        return policy, service == "kms"

    # ---------------------------------------------------------------- deciding

    def _record(self, service: str, operation: str, decision: Decision) -> None:
        request = decision.request
        who = request.principal.role_arn or request.principal.service or request.principal.arn
        message = "" if decision.allowed else denial_message(decision)
        with self._lock:
            self.records.append(CallRecord(who, service, operation, request.action, request.resource,
                                           decision.allowed, decision.statements, message))

    def authorize(self, call: ApiCall, access_key_id: str, protocol: str) -> None:
        """Authorize ``call`` signed with ``access_key_id``; raise :class:`Denied` on the first denial."""
        session = self.sessions.get(access_key_id)
        if session is None:
            return
        call = ApiCall(call.service, call.operation, call.params, call.region, call.account, call.secure_transport,
                       call.source_ip, {**call.extra_context, **session.context})
        try:
            requests = authorizations(call, session.principal, MotoFacts(self.account_id))
        except catalog.UnknownAction as exc:
            message = (f"User: {session.principal.arn} is not authorized to perform: "
                       f"{call.service}:{call.operation} (the sandbox cannot map it to IAM: {exc})")
            if self.enforce:
                raise Denied(call.service, protocol, message) from exc
            return
        for request in requests:
            policy, required = self.resource_policy(request.resource)
            decision = evaluate(request, self.identity_policies(session.principal), policy,
                                resource_policy_required=required)
            self._record(call.service, call.operation, decision)
            if not decision.allowed and self.enforce:
                raise Denied(call.service, protocol, denial_message(decision))

    def denied(self) -> list[CallRecord]:
        with self._lock:
            return [r for r in self.records if not r.allowed]

    # ---------------------------------------------------------------- moto hooks

    @contextlib.contextmanager
    def installed(self) -> Iterator[Enforcer]:
        """Hook moto's authorization point and Step Functions' clients while the context is open."""
        global _ACTIVE
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.s3.models import FakeBucket
        from moto.s3.responses import S3Response

        original = ActionAuthenticatorMixin.__dict__["_authenticate_and_authorize_action"]
        original_bucket_permission = FakeBucket.__dict__["get_permission"]
        original_key_response = S3Response.__dict__["_key_response"]

        def key_response(response: Any, request: Any, full_url: str) -> Any:
            _REQUEST.access_key = _access_key(request.headers)
            try:
                return original_key_response(response, request, full_url)
            finally:
                _REQUEST.access_key = None

        patched_clients = _patch_sfn_clients()
        _ACTIVE = self
        ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize_hook  # type: ignore[method-assign]
        FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign,assignment]
        S3Response._key_response = key_response  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            ActionAuthenticatorMixin._authenticate_and_authorize_action = original  # type: ignore[method-assign]
            FakeBucket.get_permission = original_bucket_permission  # type: ignore[method-assign]
            S3Response._key_response = original_key_response  # type: ignore[method-assign]
            for module, value in patched_clients:
                module.boto_client_for = value
            _ACTIVE = None


_ACTIVE: Enforcer | None = None
_REQUEST = threading.local()  # the access key of the S3 object request being answered on this thread


class MotoFacts:
    """:class:`~sandbox.authz.calls.ResourceFacts` read from moto's backends."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def kms_key_arn(self, key_id: str, region: str) -> str | None:
        from moto.kms.models import kms_backends

        if key_id.startswith("arn:"):
            region = key_id.split(":")[3]
        backend = kms_backends[self.account_id][region]
        try:
            raw = backend.any_id_to_key_id(key_id)
        except Exception:
            return None
        key = backend.keys.get(raw)
        return str(key.arn) if key is not None else None

    def _bucket(self, bucket: str) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id][PARTITION].buckets.get(bucket)

    def bucket_encryption(self, bucket: str) -> tuple[str | None, bool]:
        found = self._bucket(bucket)
        rule = ((found.encryption or {}).get("Rule") or {}) if found is not None else {}
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        enabled = str(rule.get("BucketKeyEnabled", "false")).lower() == "true"
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
            return str(default.get("KMSMasterKeyID") or "alias/aws/s3"), enabled
        return None, enabled

    def object_kms_key(self, bucket: str, key: str, version_id: str | None) -> str | None:
        found = self._bucket(bucket)
        if found is None:
            return None
        with contextlib.suppress(Exception):
            obj = found.keys.getlist(key)
            candidates = [o for o in obj if version_id is None or str(o.version_id) == version_id]
            latest = candidates[-1] if candidates else None
            if latest is not None and getattr(latest, "encryption", None) in ("aws:kms", "aws:kms:dsse"):
                return str(latest.kms_key_id or "alias/aws/s3")
        return None

    def queue_kms_key(self, queue_url: str) -> str | None:
        from moto.sqs.models import sqs_backends

        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        for backend in sqs_backends[self.account_id].values():
            queue = backend.queues.get(name)
            if queue is not None:
                return getattr(queue, "kms_master_key_id", None) or None
        return None

    def table_kms_key(self, table: str, region: str) -> str | None:
        from moto.dynamodb.models import dynamodb_backends

        with contextlib.suppress(Exception):
            found = dynamodb_backends[self.account_id][region].tables.get(table)
            sse = (getattr(found, "sse_specification", None) or {}) if found is not None else {}
            if sse.get("Enabled") in (True, "true", "True") and sse.get("SSEType", "KMS") == "KMS":
                return str(sse.get("KMSMasterKeyId") or "") or None
        return None

    def topic_kms_key(self, topic_arn: str) -> str | None:
        from moto.sns.models import sns_backends

        region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else ""
        topic = sns_backends[self.account_id][region].topics.get(topic_arn) if region else None
        return (getattr(topic, "kms_master_key_id", "") or None) if topic is not None else None


def _access_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    marker = "Credential="
    if marker not in auth:
        return None
    return auth.split(marker, 1)[1].split("/", 1)[0]


def _operation_and_params(response: Any) -> tuple[str, str, dict[str, Any], str]:
    """(boto3 service, operation, parsed parameters, protocol) of the request moto is answering."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    service = response.boto3_service_name or "s3"
    model = get_service_model(service)
    if model.protocol.startswith("rest"):  # route as botocore's model does (moto's S3 names its own actions)
        operation = response._get_action_from_method_and_request_uri(response.normalized_request)
    else:
        operation = response._get_action()
    request = response.normalized_request
    protocol = determine_request_protocol(model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](model.operation_model(operation))
    params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                           "body": request.data, "url_path": request.path,
                           "url_params": getattr(response, "uri_match", None) or {}})
    return service, operation, dict(params), model.protocol


def _authorize_hook(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    enforcer = _ACTIVE
    if enforcer is None:
        return
    access_key = _access_key(self.headers)
    if access_key is None or access_key not in enforcer.sessions:
        return
    service, operation, params, protocol = _operation_and_params(self)
    if service == "s3" and resource.startswith("arn:aws:s3:::"):
        # virtual-hosted requests: moto resolved the bucket (and key) from the host name and path
        bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
        if bucket != "*":
            params["Bucket"] = params.get("Bucket") or bucket
        if key:
            params["Key"] = params.get("Key") or key
    params = {k: v for k, v in params.items() if v is not None}
    call = ApiCall(service, operation, params, self.region, enforcer.account_id)
    try:
        enforcer.authorize(call, access_key, protocol)
    except Denied as denied:
        raise _DeniedHttp(denied) from None


def _denied_http_class() -> type:
    from werkzeug.exceptions import HTTPException

    class DeniedHttp(HTTPException):
        def __init__(self, denied: Denied) -> None:
            super().__init__(description=denied.body.decode())
            self.code = denied.status
            self._headers = denied.headers

        def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
            return list(self._headers.items())

        def get_body(self, *args: Any, **kwargs: Any) -> str:
            return str(self.description)

    return DeniedHttp


def _DeniedHttp(denied: Denied) -> Exception:
    built: Exception = _denied_http_class()(denied)
    return built


def _bucket_permission(bucket: Any, action: str, resource: str) -> Any:
    """moto's own bucket-policy check (S3 object requests, before the authorization hook), decided by this
    engine: conditions are evaluated (the sandbox's requests are TLS) and only an explicit deny counts here (it
    answers S3's ``AccessDenied``, as AWS does; moto would send an empty 403); role sessions are left to the
    hook, which evaluates identity and bucket policy together."""
    from moto.iam.access_control import PermissionResult

    if bucket.policy is None or _ACTIVE is None or getattr(_REQUEST, "access_key", None) in _ACTIVE.sessions:
        return PermissionResult.NEUTRAL
    text = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
    policy = PolicyDocument.parse(f"bucket-policy:{bucket.name}", text)
    root = Principal(f"arn:{PARTITION}:iam::{_ACTIVE.account_id}:root")
    request = AuthRequest(root, action, resource, {"aws:SecureTransport": "true"})
    if evaluate(request, [], policy).outcome == "explicit-deny":
        raise s3_access_denied()
    return PermissionResult.NEUTRAL


def _state_machine_arn_from_stack() -> str | None:
    """The ARN of the state machine whose execution is calling (found on the calling thread's stack)."""
    frame = sys._getframe(2)
    while frame is not None:
        env = frame.f_locals.get("env")
        if env is not None:
            with contextlib.suppress(Exception):
                return str(env.states.context_object.context_object_data["StateMachine"]["Id"])
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _patch_sfn_clients() -> list[tuple[Any, Any]]:
    """Make every module that imported moto's ``boto_client_for`` sign with the state machine's role."""
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module

    original = boto_client_module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original(region=region, service=service, state_credentials=state_credentials)
        enforcer = _ACTIVE
        arn = _state_machine_arn_from_stack() if enforcer is not None else None
        session = enforcer.state_machine_session(arn) if enforcer is not None and arn else None
        if session is None:
            return client
        import boto3

        endpoint = None if client.meta.endpoint_url.startswith("https://") else client.meta.endpoint_url
        return boto3.client(service, region_name=region, endpoint_url=endpoint, config=client.meta.config,
                            aws_access_key_id=session.access_key_id, aws_secret_access_key=session.secret_access_key,
                            aws_session_token=session.session_token)

    patched: list[tuple[Any, Any]] = []
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "__name__", "").startswith("moto.stepfunctions") and \
                getattr(module, "boto_client_for", None) is original:
            patched.append((module, original))
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
    return patched


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def policy_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document)
