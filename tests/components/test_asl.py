"""The typed ASL builder: its rules, and machines built from its parts pass statelint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from statelint.config import Config
from statelint.linter import Linter

from components.asl import (
    LAMBDA_INVOKE,
    LAMBDA_TRANSIENT_ERRORS,
    Catcher,
    ChoiceRule,
    ChoiceState,
    FailState,
    ItemReader,
    MapState,
    ResultWriter,
    Retrier,
    StateMachine,
    SucceedState,
    TaskState,
)

FN = "arn:aws:lambda:ap-south-1:123456789012:function:"


def lint(definition: dict[str, Any]) -> list[str]:
    return Linter.validate(json.dumps(definition), Config(None, False, False))


# --------------------------------------------------------------------------- builder rules
def test_unknown_next_state_is_refused() -> None:
    machine = StateMachine("A", {"A": TaskState(resource="r", next="Nowhere")})
    with pytest.raises(ValueError, match="state 'A' goes to unknown state 'Nowhere'"):
        machine.to_dict()


def test_unknown_catch_target_is_refused() -> None:
    machine = StateMachine("A", {"A": TaskState(resource="r", end=True, catch=[Catcher("Gone")])})
    with pytest.raises(ValueError, match="goes to unknown state 'Gone'"):
        machine.to_dict()


def test_start_at_must_be_a_state() -> None:
    with pytest.raises(ValueError, match="StartAt 'B' is not a state"):
        StateMachine("B", {"A": SucceedState()}).to_dict()


def test_state_needs_exactly_one_of_next_and_end() -> None:
    with pytest.raises(ValueError, match="exactly one of next"):
        TaskState(resource="r", next="B", end=True).to_dict()
    with pytest.raises(ValueError, match="exactly one of next"):
        TaskState(resource="r").to_dict()


def test_retrier_rejects_unknown_jitter_and_empty_errors() -> None:
    with pytest.raises(ValueError, match="jitter must be FULL or NONE"):
        Retrier(("States.ALL",), jitter="HALF")
    with pytest.raises(ValueError, match="at least one error name"):
        Retrier(())


def test_inline_map_refuses_distributed_only_fields() -> None:
    processor = StateMachine("A", {"A": SucceedState()})
    with pytest.raises(ValueError, match="need DISTRIBUTED"):
        MapState(processor=processor, item_reader=ItemReader({"Bucket": "b", "Key": "k"}), end=True).to_dict()
    with pytest.raises(ValueError, match="need DISTRIBUTED"):
        MapState(processor=processor, result_writer=ResultWriter("b", "p/"), end=True).to_dict()


def test_distributed_map_refuses_items_path() -> None:
    processor = StateMachine("A", {"A": SucceedState()})
    with pytest.raises(ValueError, match="reads its items with item_reader"):
        MapState(processor=processor, mode="DISTRIBUTED", items_path="$.x", end=True).to_dict()


def test_small_machine_built_from_parts_passes_statelint() -> None:
    machine = StateMachine("Check", {
        "Check": ChoiceState((ChoiceRule("$.ok", True, "Work"),), default="Stop"),
        "Work": TaskState(resource=LAMBDA_INVOKE, parameters={"FunctionName": FN + "f", "Payload.$": "$"},
                          retry=[Retrier(LAMBDA_TRANSIENT_ERRORS)], catch=[Catcher("Stop")], next="Done"),
        "Done": SucceedState(),
        "Stop": FailState(error="Stopped", cause="not ok"),
    })
    assert lint(machine.to_dict()) == []
