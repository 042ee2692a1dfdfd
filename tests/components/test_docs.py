"""The README's component and stack-config tables are generated from the Args' field declarations."""

from __future__ import annotations

from pathlib import Path

from components.schema import BEGIN, documented, render_readme

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tables_match_the_field_declarations() -> None:
    text = README.read_text()
    for name in documented():
        assert BEGIN.format(name=name) in text, f"README has no generated table for {name}"
    assert text == render_readme(text), "README tables are stale: run python -m components.schema README.md"


def test_readme_first_screen_names_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
