"""The exceptions a web-service function raises, rendered as Moodle's error JSON.

Class names are Moodle 4.5's (``core\\exception\\…`` for the core ones). Messages are
what a site with debugging off shows; the detail goes to ``debuginfo``, which the
server includes only in debug mode, as Moodle does.
"""

from __future__ import annotations

from plutoctl.errors import PlutoError

INVALID_PARAMETER = "core\\exception\\invalid_parameter_exception"
MOODLE_EXCEPTION = "core\\exception\\moodle_exception"
CODING_EXCEPTION = "core\\exception\\coding_exception"
ACCESS_EXCEPTION = "webservice_access_exception"
MISSING_RECORD = "dml_missing_record_exception"

ACCESS_DEBUGINFO = (
    "Access to the function {name}() is not allowed.\n"
    "                     There could be multiple reasons for this:\n"
    "                     1. The service linked to the user token does not contain the function.\n"
    "                     2. The service is user-restricted and the user is not listed.\n"
    "                     3. The service is IP-restricted and the user IP is not listed.\n"
    "                     4. The service is time-restricted and the time has expired.\n"
    "                     5. The token is time-restricted and the time has expired.\n"
    "                     6. The service requires a specific capability which the user does"
    " not have.\n"
    "                     7. The function is called with username/password (no user token is"
    " sent)\n"
    "                     and none of the services has the function to allow the user.\n"
    "                     These settings can be found in Administration > Site administration\n"
    "                     > Server > Web services > External services and Manage tokens."
)


class WsError(PlutoError):
    """A web-service exception: becomes ``{exception, errorcode, message[, debuginfo]}``."""

    def __init__(
        self, exception: str, errorcode: str | None, message: str, debuginfo: str | None = None
    ) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.debuginfo = debuginfo

    def body(self, *, debug: bool) -> dict[str, str]:
        """Return the JSON error body; ``debuginfo`` only in debug mode.

        A PHP error (``TypeError``…) that escapes a function has no errorcode.
        """
        result = {"exception": self.exception}
        if self.errorcode is not None:
            result["errorcode"] = self.errorcode
        result["message"] = self.message
        if debug and self.debuginfo is not None:
            result["debuginfo"] = self.debuginfo
        return result


class WsParamError(WsError):
    """``invalid_parameter_exception``: a bad parameter or a refused business rule."""


def invalid_parameter(debuginfo: str) -> WsParamError:
    """Return Moodle's invalid_parameter_exception with ``debuginfo``."""
    return WsParamError(
        INVALID_PARAMETER, "invalidparameter", "Invalid parameter value detected", debuginfo
    )


def missing_record(table: str) -> WsError:
    """Return dml_missing_record_exception for ``table`` (the user table says invaliduser)."""
    if table == "user":
        return WsError(MISSING_RECORD, "invaliduser", "Invalid user")
    return WsError(
        MISSING_RECORD, "invalidrecord", f"Can't find data record in database table {table}."
    )


def not_implemented(function: str) -> WsError:
    """Return the sandbox's error for a function its service lists but it does not implement."""
    return moodle_exception(
        "notimplemented", f"The sandbox does not implement {function}", "sandbox limitation"
    )


def db_write_error() -> WsError:
    """Return dml_write_exception: the database refused a write (e.g. a value too long)."""
    return WsError("dml_write_exception", "dmlwriteexception", "Error writing to database")


def php_type_error(message: str) -> WsError:
    """Return a PHP TypeError as Moodle sends it: an exception class, no errorcode."""
    return WsError("TypeError", None, message)


def moodle_exception(errorcode: str, message: str, debuginfo: str | None = None) -> WsError:
    """Return a plain moodle_exception."""
    return WsError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


def coding_error(detail: str) -> WsError:
    """Return coding_exception (for example a bad ``includes`` or ``field`` value)."""
    return WsError(
        CODING_EXCEPTION,
        "codingerror",
        f"Coding error detected, it must be fixed by a programmer: {detail}",
    )


def course_context_error(course_id: int) -> WsError:
    """Return the error group and course functions give for a course that does not exist."""
    return moodle_exception(
        "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{course_id}). "
        "The context error message was: Invalid parameter value detected",
    )


def access_exception(function: str) -> WsError:
    """Return the error for a function that is not in the token's service."""
    return WsError(
        ACCESS_EXCEPTION,
        "accessexception",
        "Access control exception",
        ACCESS_DEBUGINFO.format(name=function),
    )


def invalid_token() -> WsError:
    """Return the error for a token the site does not know."""
    return moodle_exception("invalidtoken", "Invalid token - token not found")
