"""``Sandbox``: a running sandbox LMS (store + HTTP server thread + log + faults)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from plutoctl.errors import SandboxError
from plutoctl.sandbox.costs import CostModel
from plutoctl.sandbox.faults import FaultInjector
from plutoctl.sandbox.functions import KNOWN_ELSEWHERE, registry
from plutoctl.sandbox.protocol import WebService
from plutoctl.sandbox.server import ENDPOINT, RequestLog, SandboxServer
from plutoctl.sandbox.store import Store

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class Sandbox:
    """A sandbox LMS serving the Moodle web-service REST protocol on loopback."""

    def __init__(self, store: Store, server: SandboxServer, thread: threading.Thread) -> None:
        self.store = store
        self.log: RequestLog = server.request_log
        self.faults: FaultInjector = server.faults
        self._server = server
        self._thread = thread
        self.url = f"http://{HOST}:{server.server_port}"
        self.token = store.token

    @property
    def endpoint(self) -> str:
        """The web-service endpoint URL."""
        return self.url + ENDPOINT

    @property
    def max_input_vars(self) -> int:
        """The PHP ``max_input_vars`` the server enforces."""
        return self._server.max_input_vars

    @classmethod
    def start(
        cls,
        db_path: str | Path | None = None,
        max_input_vars: int = 1000,
        functions: Iterable[str] | None = None,
        port: int = 0,
        *,
        debug: bool = False,
        store: Store | None = None,
        costs: CostModel | None = None,
    ) -> Sandbox:
        """Open (or create) the database and serve it on 127.0.0.1:``port`` (0 = free).

        ``functions`` limits the token's service to those names, in that order
        (default: every implemented function); it may list real Moodle functions
        the sandbox does not implement, which site info then lists as a real site
        would and which answer ``notimplemented`` when called; ``debug`` adds
        ``debuginfo`` to errors, like a site with debugging on. ``store`` serves an
        already open store instead of ``db_path``. ``costs`` makes every
        call take as long as on a real Moodle (``plutoctl.sandbox.costs``).
        """
        store = store if store is not None else Store(db_path)
        table = registry()
        service = tuple(table) if functions is None else tuple(functions)
        unknown = sorted(set(service) - set(table) - KNOWN_ELSEWHERE)  # listed, not served
        if unknown:
            raise SandboxError(f"the sandbox does not implement {', '.join(unknown)}")
        try:
            server = SandboxServer(
                (HOST, port),
                max_input_vars=max_input_vars,
                faults=FaultInjector(),
                request_log=RequestLog(),
                costs=costs,
            )
        except OSError as exc:
            raise SandboxError(
                f"cannot serve on {HOST}:{port}: {exc.strerror or exc}",
                hint="choose another --port, or --port 0 for a free one",
            ) from exc
        url = f"http://{HOST}:{server.server_port}"
        server.web_service = WebService(store, store.token, table, service, url, debug)
        thread = threading.Thread(
            target=server.serve_until_stopped,
            name="plutoctl-sandbox",
            daemon=True,
        )
        thread.start()
        log.debug("sandbox serving on %s", url)
        return cls(store, server, thread)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no client connection is open, e.g. after a client was killed.

        Every request that reached the sandbox has then been answered. Returns False
        if connections were still open after ``timeout`` seconds.
        """
        return self._server.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving and close the database."""
        self._server.stop_serving()
        self._thread.join(timeout=5)
        self._server.server_close()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
