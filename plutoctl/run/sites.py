"""Run a task on every selected site, a bounded number of sites at a time.

One failing site does not stop the others: its result carries the error instead. A
Ctrl-C can wind the tasks down (they check a ``stop`` event), and the cyclic
garbage collector is paused while sites are read and planned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from plutoctl.config import LoadedConfig
from plutoctl.errors import ConfigError, PlutoError, UsageError
from plutoctl.heap import rare_collection
from plutoctl.lms.client import SiteClient
from plutoctl.model import ExistingSite
from plutoctl.plan.changes.plans import Notice, SitePlan
from plutoctl.plan.scope import Selection
from plutoctl.run.connect import Connection, open_site

log = logging.getLogger(__name__)

SITE_WORKERS = 4
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class SiteRun:
    """What one site's run produced: its plan, the site as read (apply reuses the user
    ids it learned), or the error that stopped it."""

    plan: SitePlan
    existing: ExistingSite | None = None
    error: PlutoError | None = None
    # Seals a saved plan for this site (``SiteClient.seal``); None where it was not reached.
    seal: Callable[[bytes], str] | None = None


SiteTask = Callable[[SiteClient, str], SiteRun]


def sites_to_run(loaded: LoadedConfig, selection: Selection) -> list[str]:
    """Return the sites this run covers, refusing unknown ``--site`` names."""
    known = list(loaded.config.sites)
    unknown = [s for s in selection.sites if s not in known]
    if unknown:
        raise UsageError(
            f"unknown site(s): {', '.join(unknown)}",
            hint=f"sites in {loaded.path}: {', '.join(known)}",
        )
    named = set(selection.only | selection.excluded)
    declared = set(loaded.config.segments) | set(loaded.config.courses)
    if named - declared:
        raise UsageError(
            f"--only/--except name(s) not in the config: {', '.join(sorted(named - declared))}",
            hint="name segment IDs or course short names declared in the config",
        )
    picked = [s for s in known if not selection.sites or s in selection.sites]
    config = loaded.config
    for name in sorted(selection.only):
        item = config.segments.get(name) or config.courses.get(name)
        on = config.sites_for(item.sites if item is not None else None)
        if not set(on) & set(picked):  # the run would plan nothing, and say "No changes."
            raise UsageError(
                f"--only {name}: it is not on site(s) {', '.join(picked)} (its sites: "
                f"{', '.join(on)})",
                hint="name one of its sites with --site, or leave --site out",
            )
    return picked


def run_sites(
    loaded: LoadedConfig,
    names: Sequence[str],
    connection: Connection,
    task: SiteTask,
    stop: threading.Event | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, SiteRun]:
    """Run ``task`` for each named site in parallel; a failing site becomes an error plan.

    With ``stop``, a first Ctrl-C sets it and waits for the tasks to wind down (they
    check it); a second one, or any Ctrl-C without ``stop``, is raised at once,
    without waiting for the calls in flight (``plutoctl.cli.run`` then ends the
    process; the next apply finishes what they were doing).
    ``meanwhile``: work for this thread while the sites are read, which mostly waits
    on the network (such as importing what prints the result).
    """

    def run(name: str) -> SiteRun:
        try:
            with open_site(name, loaded, connection) as client:
                return replace(task(client, name), seal=client.seal)
        except PlutoError as exc:
            # One site's failure must not stop the others: it becomes that site's result.
            log.debug("site %s failed", name, exc_info=True)
            notice = Notice("error", _describe(exc))
            return SiteRun(plan=SitePlan(site=name, errors=(notice,)), error=exc)

    workers = max(1, min(SITE_WORKERS, len(names)))
    pool = ThreadPoolExecutor(workers, thread_name_prefix="site")
    is_waiting = True
    with rare_collection():
        try:
            futures = [pool.submit(run, name) for name in names]
            try:
                if meanwhile is not None:
                    meanwhile()
                results = _results(futures)
            except KeyboardInterrupt:
                if stop is None:
                    raise
                stop.set()
                log.debug("interrupted: sending no more calls, waiting for those in flight")
                results = _results(futures)  # a second Ctrl-C is raised at once
        except KeyboardInterrupt:
            is_waiting = False  # for the calls in flight: why the pool is not a `with`
            raise
        finally:
            pool.shutdown(wait=is_waiting, cancel_futures=not is_waiting)
    return dict(zip(names, results, strict=True))


def _results(futures: Sequence[Future[SiteRun]]) -> list[SiteRun]:
    """Return the futures' results, waking now and then meanwhile.

    A Ctrl-C the kernel hands to another thread than the main one does not interrupt a
    wait without a time limit: Python runs its handler only when the main thread runs
    again, here when every site is done (an apply would go on to the end). Waking every
    tenth of a second lets the handler run at once.
    """
    while not all(future.done() for future in futures):
        wait(futures, timeout=0.1)
    return [future.result() for future in futures]


def _describe(exc: PlutoError) -> str:
    """One line for a site's failure; a seed file's problems are listed, not counted."""
    if isinstance(exc, ConfigError):
        shown = [f"{p.position}: {p.message}" for p in exc.problems if not p.is_warning]
        more = len(shown) - MAX_PROBLEMS_SHOWN
        text = "; ".join(shown[:MAX_PROBLEMS_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        return f"the sandbox seed file could not be loaded: {text}"
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    return exc.message + hint
