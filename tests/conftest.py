"""Shared fixtures: a running sandbox LMS on 127.0.0.1 (port 0) for any HTTP test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from plutoctl.sandbox import Sandbox


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
