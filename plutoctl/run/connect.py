"""Connect to a site: its token, how patiently to talk to it, and the client.

``open_site`` turns a site's config into a connected client, starting the embedded
sandbox first for a ``sandbox:`` URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from plutoctl.config import LoadedConfig
from plutoctl.errors import SecretError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.retry import RetryPolicy

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection to a site (``timeout`` is for an answer)."""


@dataclass(frozen=True)
class Connection:
    """How to talk to a site: seconds to wait for a call, retries, calls in flight."""

    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    parallelism: int = 3


MIN_TOKEN_LENGTH = 16
"""The shortest token taken: Moodle's are 32 characters; a short one stands in any text."""


def resolve_token(name: str, loaded: LoadedConfig) -> str:
    """Return a site's token from its ``${VAR}`` reference, or say what is missing."""
    site = loaded.config.sites[name]
    variable = site.token_variable
    if variable is None:
        raise SecretError(
            f"site {name!r} has no token",
            hint=f"add `token: ${{PLUTO_TOKEN_{name.upper()}}}` to sites.{name} in {loaded.path}",
        )
    # A secret pasted with its line end (as CI settings and `echo` keep it): no site
    # makes a token that starts or ends with a space or a line break.
    value = os.environ.get(variable, "").strip()
    if not value:
        where = loaded.position_of("sites", name, "token")
        state = "is empty" if variable in os.environ else "is not set"
        raise SecretError(
            f"site {name!r}: environment variable {variable} {state} (token: at {where})",
            hint=f"export {variable}=<the site's web-service token> (Site admin > Server > "
            "Web services > Manage tokens)",
        )
    if len(value) < MIN_TOKEN_LENGTH:
        raise SecretError(
            f"site {name!r}: the token in {variable} is {len(value)} characters long; a "
            f"site's tokens are longer (Moodle's are 32), and one this short could stand "
            "in any answer's text, which would be shown with it blanked",
            hint=f"set {variable} to the site's web-service token (Site admin > Server > "
            "Web services > Manage tokens)",
        )
    return value


@contextmanager
def open_site(name: str, loaded: LoadedConfig, connection: Connection) -> Iterator[SiteClient]:
    """Connect to a site; for a ``sandbox:`` URL, start the embedded sandbox first."""
    site = loaded.config.sites[name]
    with ExitStack() as stack:
        if site.is_sandbox:
            from plutoctl.sandbox import open_embedded

            db_path = loaded.resolve(site.url.removeprefix("sandbox:"))
            db_path.parent.mkdir(parents=True, exist_ok=True)
            seed = loaded.resolve(site.seed) if site.seed else None
            sandbox = stack.enter_context(
                open_embedded(db_path, seed_csv=seed, max_input_vars=site.max_input_vars)
            )
            url, token = sandbox.url, sandbox.token
        else:
            url, token = site.url.rstrip("/"), resolve_token(name, loaded)
        client = stack.enter_context(
            SiteClient(
                site=name,
                url=url,
                token=token,
                max_input_vars=site.max_input_vars,
                timeout=(CONNECT_TIMEOUT, connection.timeout),
                retry=connection.retry,
                parallelism=connection.parallelism,
            )
        )
        yield client
