"""docs/safety.md names, for each promise, tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ROOT / "docs" / "safety.md"
HEADING = "## Promises and the tests that prove them"


def test_every_promise_names_tests_that_exist() -> None:
    text = SAFETY.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    section = section[: m.start() + 3] if (m := re.search(r"\n## ", section[3:])) else section
    references = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert references, "the section names no test"
    missing = []
    for path, name in references:
        source = ROOT / path
        if not source.exists() or not re.search(rf"def {name}\(", source.read_text()):
            missing.append(f"{path}::{name}")
    assert missing == []
    for block in section.split("\n### ")[1:]:
        assert "::" in block, f"promise without a test: {block.splitlines()[0]}"
