"""Fixtures of tests/ci (defined in ci_helpers, with the helpers the tests share)."""

import pytest
from ci_helpers import dist, forge, sites, start_building_dist

__all__ = ["dist", "forge", "sites"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building the package for the tests that install it, once they are known."""
    start_building_dist(session)
