"""moto's Step Functions ``states:startExecution`` integration, made to work as AWS's does.

moto 5.2 runs ``arn:aws:states:::states:startExecution[.sync|.sync:2]`` Tasks by calling boto3 with the ASL's
parameter names (``StateMachineArn``, ``Input``, ``Name``), which boto3 spells ``stateMachineArn`` ..., and reads
the answer as ``ExecutionArn``/``Status`` while boto3 returns ``executionArn``/``status``: every such Task fails
with a ``KeyError``. AWS maps the ASL's PascalCase to the API's names both ways; :func:`install` does that for
this one integration (nothing else in moto's parser is touched). Used by the EtlPipeline batch run, whose
Distributed Map starts the per-file machine with ``startExecution.sync:2``.
"""

from __future__ import annotations

from typing import Any

_ORIGINAL: dict[str, Any] = {}


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


def _upper_first(key: str) -> str:
    return key[:1].upper() + key[1:]


def install() -> None:
    """Patch ``StateTaskServiceSfn`` (idempotent)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    if _ORIGINAL:
        return
    _ORIGINAL["params"] = StateTaskServiceSfn._normalise_parameters
    _ORIGINAL["response"] = StateTaskServiceSfn._normalise_response  # inherited: restored by deleting ours
    _ORIGINAL["own"] = {name for name in ("_normalise_parameters", "_normalise_response")
                        if name in StateTaskServiceSfn.__dict__}

    def parameters(self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
                   service_action_name: str | None = None) -> None:
        _ORIGINAL["params"](self, parameters, boto_service_name, service_action_name)
        if service_action_name is None:  # the Task's own call (not moto's internal describe)
            for key in list(parameters):
                parameters[_lower_first(key)] = parameters.pop(key)

    def response(self: Any, response: Any, boto_service_name: str | None = None,
                 service_action_name: str | None = None) -> None:
        _ORIGINAL["response"](self, response, boto_service_name, service_action_name)
        if isinstance(response, dict):
            for key in [k for k in response if k[:1].islower()]:
                response[_upper_first(key)] = response.pop(key)

    StateTaskServiceSfn._normalise_parameters = parameters  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_response = response  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo :func:`install`."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    if not _ORIGINAL:
        return
    own = _ORIGINAL.pop("own")
    for name, key in (("_normalise_parameters", "params"), ("_normalise_response", "response")):
        original = _ORIGINAL.pop(key)
        if name in own:
            setattr(StateTaskServiceSfn, name, original)
        else:
            delattr(StateTaskServiceSfn, name)
