"""Fixtures of tests/ci (defined in ci_helpers, with the helpers the tests share)."""

from ci_helpers import dist, forge, sites

__all__ = ["dist", "forge", "sites"]
