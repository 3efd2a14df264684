"""Fixtures for apply tests: seeded sandbox sites over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from apply_helpers import Site, open_client, seed


@pytest.fixture
def make_site(make_sandbox: Callable[..., Any]) -> Iterator[Callable[..., Site]]:
    """Return a factory of seeded sites: ``make_site(max_input_vars=…, parallelism=…)``."""
    with ExitStack() as stack:

        def build(*, max_input_vars: int = 1000, parallelism: int = 3) -> Site:
            sandbox = make_sandbox(max_input_vars=max_input_vars)
            seed(sandbox.store)
            client = stack.enter_context(open_client(sandbox, parallelism=parallelism))
            return Site(sandbox, client)

        yield build


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()
