"""The README's Args tables match the code: every field, in order, with its default."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from components.etl_pipeline import EtlPipelineArgs
from components.layer_bundle import LayerBundleArgs
from components.scheduled_computation import ScheduledComputationArgs

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<name>\w+)` \| `(?P<type>[^`]+)` \| (?P<default>required|`[^`]*`) \|")


def readme_table(section: str) -> list[tuple[str, str]]:
    text = README.read_text()
    body = text.split(f"### {section}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return [(m["name"], m["default"].strip("`")) for line in body.splitlines() if (m := ROW.match(line))]


def code_fields(cls: type) -> list[tuple[str, str]]:
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        out.append((f.name, default))
    return out


@pytest.mark.parametrize(("section", "cls"), [("LayerBundle", LayerBundleArgs),
                                              ("ScheduledComputation", ScheduledComputationArgs),
                                              ("EtlPipeline", EtlPipelineArgs)])
def test_args_table_matches_the_dataclass(section: str, cls: type) -> None:
    assert readme_table(section) == code_fields(cls)


def test_readme_first_screen_names_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
