"""Shared fixtures: a running sandbox LMS on 127.0.0.1 (port 0) for any HTTP test."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from plutoctl.sandbox import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    """Let SIGINT reach the plutoctl processes the Ctrl-C tests start.

    A runner started in the background by a non-interactive shell (``cmd &``) inherits
    SIGINT ignored, and every process it starts would inherit that too; a handler, unlike
    an ignore, is reset to the default when a child starts, so Python's own is installed.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh in-memory sandbox, stopped after the test."""
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """A factory taking ``Sandbox.start``'s keyword arguments; every sandbox is stopped."""
    with ExitStack() as stack:

        def make(**kwargs: Any) -> Sandbox:
            return stack.enter_context(Sandbox.start(**kwargs))

        yield make
