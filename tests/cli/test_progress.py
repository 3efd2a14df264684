"""Apply progress: a redrawn bar on a terminal, sparse plain lines elsewhere."""

from __future__ import annotations

import io

from plutoctl.apply.report import ProgressEvent
from plutoctl.cli.progress import ProgressPrinter
from plutoctl.plan.changes.kinds import Step


def events(total: int) -> list[ProgressEvent]:
    return [
        ProgressEvent("demo", Step.ADD_SEGMENT_MEMBERS, done, total) for done in range(total + 1)
    ]


def test_plain_lines_at_start_each_tenth_and_end() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, is_tty=False)
    for event in events(100):
        printer(event)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("0/100") and lines[-1].endswith("100/100")
    assert len(lines) == 11
    assert "\r" not in out.getvalue()


def test_terminal_bar_redraws_one_line_and_ends_it() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, is_tty=True)
    for event in events(4):
        printer(event)
    text = out.getvalue()
    assert text.count("\r") == 5
    assert text.endswith("add segment members 4/4\n")
    assert "[" + "#" * 24 + "]" in text
