"""The plutoctl error hierarchy and the process exit codes (docs/cli.md).

Library code raises only these. Each carries what a user needs to act: the file
position, the site, the LMS error code, and a hint. The one boundary in
``plutoctl.cli`` turns them into ``error: …`` and an exit code. No message may ever
contain a token: the client redacts before it raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, fixed by the spec."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    UNSAFE = 3
    APPLY_FAILED = 4
    USAGE = 64
    BUG = 70
    """An unexpected internal error: a plutoctl bug (EX_SOFTWARE in sysexits.h)."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT), as shells expect."""


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in a file: 1-based line and column (column 0 when unknown).

    Slotted: a large config holds one for each of 300,000 list entries and CSV rows
    (about 40 bytes less each).
    """

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        if not self.col:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config or its CSV files."""

    position: Position
    message: str
    hint: str | None = None
    is_warning: bool = False
    count: int = 1
    """How many problems of a file it stands for (one that counts those not listed)."""

    def render(self) -> str:
        """Return ``file:line:col: message`` plus a ``hint:`` line if there is one."""
        kind = "warning: " if self.is_warning else ""
        text = f"{self.position}: {kind}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class PlutoError(Exception):
    """Base of every error plutoctl reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(PlutoError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class ConfigError(PlutoError):
    """The config file or one of its CSV files is invalid; holds every problem found."""

    def __init__(self, problems: list[Problem], *, where: str = "the config") -> None:
        self.problems = sorted(problems, key=lambda p: (p.position, p.message))
        errors = sum(p.count for p in self.problems if not p.is_warning)
        super().__init__(f"{errors} problem(s) in {where}")


class SecretError(PlutoError):
    """A token could not be resolved (for instance, its variable is unset)."""


# --- talking to a site -------------------------------------------------------------


class SandboxError(PlutoError):
    """The sandbox was asked to do something impossible (a seeding or lookup error)."""


class LmsError(PlutoError):
    """A site refused or failed a web-service call.

    ``errorcode`` is the LMS's own code (``invalidtoken``, ``invalidparameter``, …)
    or one of plutoctl's for transport failures (``timeout``, ``connection``,
    ``http503``, ``badresponse``).
    """

    def __init__(
        self,
        message: str,
        *,
        site: str,
        function: str | None = None,
        errorcode: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"site {site!r}"
        if function:
            where += f", {function}"
        code = f" [{errorcode}]" if errorcode else ""
        super().__init__(f"{where}: {message}{code}", hint=hint)
        self.site = site
        self.function = function
        self.errorcode = errorcode
        self.reason = message


class InvalidTokenError(LmsError):
    """The site does not know the token."""


class AccessDeniedError(LmsError):
    """The token may not call this function (not in its service, expired, IP-restricted)."""


class InvalidParameterError(LmsError):
    """The site rejected the parameters (shape, type, or a business rule)."""


class MissingRecordError(LmsError):
    """A record the call names does not exist on the site."""


class PermissionDeniedError(LmsError):
    """The token's user lacks a capability."""


class TransportError(LmsError):
    """The call did not get an answer: timeout, refused connection, HTTP 5xx or 429."""


class WebServiceDisabledError(LmsError):
    """The site answered HTTP 403 with no body: web services or REST are disabled."""


class BadResponseError(LmsError):
    """The site answered with something that is not the expected JSON."""


class SiteFaultError(LmsError):
    """The site's own code failed (a PHP ``TypeError``…): an exception with no errorcode.

    ``errorcode`` holds the exception class, so the error is never "unknown".
    """


class RedirectRefusedError(LmsError):
    """The site answered with a redirect, which plutoctl never follows: the token would go too."""


# --- planning and applying -----------------------------------------------------------


class PlanError(PlutoError):
    """The plan could not be made (for instance, unknown usernames on a site)."""


class UnsafePlanError(PlanError):
    """The plan holds changes the safety policy refuses without acknowledgement."""

    exit_code = ExitCode.UNSAFE


class StalePlanError(PlanError):
    """A saved plan no longer matches the site: objects changed since it was made."""
