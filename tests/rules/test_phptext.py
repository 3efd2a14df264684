"""strip_tags and trim land where PHP's do: answers recorded from PHP 8.2 (data/php_text.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plutoctl.phptext import strip_tags, trim

RECORDED = json.loads((Path(__file__).parent / "data" / "php_text.json").read_text("utf-8"))
CASES = RECORDED["cases"]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"])[:40] for c in CASES])
def test_strip_tags_and_trim_answer_as_php_did(case: dict[str, str]) -> None:
    assert strip_tags(case["text"]) == case["strip_tags"]
    assert trim(case["text"]) == case["trim"]


@given(st.text().filter(lambda text: "<" not in text and "\0" not in text))
def test_text_without_a_tag_or_nul_is_kept_whole(text: str) -> None:
    assert strip_tags(text) == text


def test_trim_keeps_the_spaces_php_keeps() -> None:
    assert trim("\u00a0Sales\u3000") == "\u00a0Sales\u3000"  # not ASCII: PHP keeps them
    assert trim(" \t\n\r\0\x0bSales \t\n\r\0\x0b") == "Sales"
