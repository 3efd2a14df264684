"""Golden-file checking for the plan reports.

Golden files live in ``golden/``; run the tests with ``PLUTOCTL_REGEN=1`` to rewrite
them, then review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with ``golden/NAME``; rewrite it when PLUTOCTL_REGEN is set."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("PLUTOCTL_REGEN"):
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {path}; run with PLUTOCTL_REGEN=1"
        assert text == path.read_text(encoding="utf-8")

    return check
