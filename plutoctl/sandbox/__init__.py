"""The embedded sandbox LMS: Moodle's web-service REST protocol over SQLite (docs/sandbox.md).

``Sandbox.start()`` serves a database on a free loopback port; ``open_embedded`` is
what ``url: sandbox:PATH`` configs use. The sandbox never imports the client: the
two meet only over HTTP.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from plutoctl.sandbox.costs import CostModel, model_from_environment, model_named
from plutoctl.sandbox.faults import FaultInjector
from plutoctl.sandbox.sandbox import Sandbox
from plutoctl.sandbox.seed import FieldSpec, generate, seed_csv
from plutoctl.sandbox.server import LoggedRequest, RequestLog
from plutoctl.sandbox.store import Store


def open_embedded(
    db_path: str | Path,
    seed_csv: str | Path | None = None,
    *,
    max_input_vars: int = 1000,
    port: int = 0,
    costs: CostModel | None = None,
) -> Sandbox:
    """Open or create the database at ``db_path`` and start a sandbox serving it.

    Without ``costs``, the cost model ``PLUTOCTL_SANDBOX_COST_MODEL`` names (if any)
    slows the answers as a real Moodle's (``plutoctl.sandbox.costs``).

    A new database is seeded from ``seed_csv`` (if given). If seeding fails the new
    file is removed again, so the next run starts afresh, and the error propagates.
    """
    path = Path(db_path)
    costs = costs if costs is not None else model_from_environment()
    with contextlib.suppress(OSError):  # as plan and seed do; if it cannot, Store says why
        path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    if store.is_new and seed_csv is not None:
        try:
            _seed(store, Path(seed_csv))
        except BaseException:
            store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
    try:
        return Sandbox.start(max_input_vars=max_input_vars, port=port, store=store, costs=costs)
    except BaseException:
        store.close()
        raise


def _seed(store: Store, path: Path) -> None:
    from plutoctl.sandbox import seed

    seed.seed_csv(store, path)


__all__ = [
    "CostModel",
    "FaultInjector",
    "FieldSpec",
    "LoggedRequest",
    "RequestLog",
    "Sandbox",
    "Store",
    "generate",
    "model_named",
    "open_embedded",
    "seed_csv",
]
