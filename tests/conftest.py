"""Shared fixtures: a running sandbox LMS on 127.0.0.1 (port 0) for any HTTP test.

Also how the suite runs in parallel (pytest-xdist, ``-n auto`` in pyproject.toml): each
test is a unit of work of its own, except the modules in ``SHARED_SETUP``, whose tests
share an expensive module-scoped fixture and so run together in one worker, which
builds it once.
"""

from __future__ import annotations

import compileall
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import session_summary

import plutoctl
from plutoctl.sandbox import Sandbox

RETRY_BACKOFF_VARIABLE = "PLUTOCTL_RETRY_BACKOFF"
"""Read by ``plutoctl.cli.options.retry_policy``: the first retry delay of a run."""


def pytest_configure(config: pytest.Config) -> None:
    """Let SIGINT reach the plutoctl processes the Ctrl-C tests start.

    A runner started in the background by a non-interactive shell (``cmd &``) inherits
    SIGINT ignored, and every process it starts would inherit that too; a handler, unlike
    an ignore, is reset to the default when a child starts, so Python's own is installed.
    """
    config.addinivalue_line(
        "markers", "real_backoff: keep the real retry back-off (the test is about it)"
    )
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    keep_rewritten_tests()
    if not hasattr(config, "workerinput"):  # once, before any worker starts
        compile_package()


def compile_package() -> None:
    """Byte-compile plutoctl once, so the plutoctl processes tests start need not.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (as in some CI images), no process writes
    bytecode, and every plutoctl process a test starts would compile the whole package
    from source again (about 0.3 s of CPU each).
    """
    compileall.compile_dir(Path(plutoctl.__file__).parent, quiet=1)


def keep_rewritten_tests() -> None:
    """Let pytest keep the test modules it rewrites, so the next run reads them back.

    pytest rewrites the asserts of every test module and compiles the result, in each
    worker; it caches that bytecode only where bytecode may be written, so with
    ``PYTHONDONTWRITEBYTECODE`` set every worker of every run does it again (about 4 s
    of CPU each). This process only: the processes tests start still write none.
    """
    sys.dont_write_bytecode = False


# --- running in parallel ------------------------------------------------------------

SHARED_SETUP = frozenset(
    {
        "tests/ci/test_precommit.py",
        "tests/e2e/test_fault_campaign.py",  # one launcher process; figures summed per module
        "tests/lms/test_lms_cheapest.py",
        "tests/sandbox/test_sandbox_costs.py",
        "tests/sandbox/test_sandbox_differential.py",  # the replay of 542 sequences, once
        "tests/sandbox/test_sandbox_transcript.py",
    }
)
"""Modules whose tests share a module-scoped fixture: scheduled as one unit."""

SHARED_ACROSS_WORKERS = frozenset({"dist"})
"""Session fixtures made once per run whichever worker asks first (tests/ci: the wheel)."""


def unit_of_work(nodeid: str) -> str:
    """Return the unit a test is scheduled in: its module's, or its own."""
    path = nodeid.split("::", 1)[0]
    return path if path in SHARED_SETUP else nodeid


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a module-scoped fixture in a module not scheduled as one unit.

    In parallel each worker would set it up anew (slower, and for a fixture that sums
    figures over its module, wrong), so the module must be listed in SHARED_SETUP.
    """
    for item in items:
        fixtureinfo = getattr(item, "_fixtureinfo", None)
        if fixtureinfo is None:
            continue
        shared = [
            name
            for name, definitions in fixtureinfo.name2fixturedefs.items()
            if definitions[-1].scope in ("module", "package", "session")
            and definitions[-1].baseid != ""  # not pytest's or a plugin's own
            and name not in SHARED_ACROSS_WORKERS
        ]
        if shared and unit_of_work(item.nodeid) == item.nodeid:
            raise pytest.UsageError(
                f"{item.nodeid} uses the shared fixture(s) {', '.join(shared)}: "
                "add its module to SHARED_SETUP in tests/conftest.py"
            )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedule by ``unit_of_work`` (largest units first) unless ``--dist`` says otherwise."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid)

    return UnitScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """Keep the figures a worker's tests printed, for the terminal summary."""
    session_summary.receive(node.config, getattr(node, "workeroutput", {}))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the figures the tests printed (the differential replay, the fault campaign)."""
    session_summary.write(config, terminalreporter)


@pytest.fixture(autouse=True)
def no_retry_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry at once in every run a test makes, in-process or as a subprocess.

    A run's retry policy is built below ``main()`` (only ``$PLUTOCTL_RETRY_BACKOFF``
    reaches it), so every failure a test injects would otherwise wait out the real
    back-off (0.5 s, doubling). A test about the delays themselves opts out with
    ``@pytest.mark.real_backoff``; one that sets the variable itself wins over this.
    """
    if request.node.get_closest_marker("real_backoff") is None:
        monkeypatch.setenv(RETRY_BACKOFF_VARIABLE, "0")


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
