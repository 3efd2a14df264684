"""What to do about each kind of failure a site's answer means: the hint a user sees.

Kept apart from the mapping of answers to errors (``plutoctl.lms.responses``): these
are words for people, changed for other reasons than the mapping.
"""

from __future__ import annotations

from plutoctl.lms.params import ENDPOINT

SERVICE_PATH = "Site administration > Server > Web services > External services"
HINTS = {
    "token": (
        "the site does not know this token: check that the token variable for this site "
        "holds a current token (Site administration > Server > Web services > Manage tokens)"
    ),
    "access": (
        "add the function to the token's service "
        f"({SERVICE_PATH} > Functions), and check that the token has not expired and is "
        "not restricted to other IP addresses (Manage tokens)"
    ),
    "parameter": "the site rejected the parameters; run with --debug and report it if it persists",
    "missing": "the record (or the function) does not exist on this site; run plan again",
    "permission": (
        "give the token's user a role at system level with the capabilities listed in "
        "docs/lms.md (for example moodle/cohort:manage, moodle/course:managegroups)"
    ),
    "connection": "the site could not be reached: check its URL and the network, then try again",
    "garbled": (
        "the answer could not be read as HTTP (a body not in the encoding its header names, "
        "a header given twice): check for a proxy or gateway in front of the site, then try "
        "again"
    ),
    "timeout": (
        "the site took too long to answer: try again later, or allow more time with "
        "--timeout SECONDS"
    ),
    "server": "the site answered with a server error: check the site's status, then try again",
    "rate": (
        "the site limits how fast it is called (HTTP 429): try again later, or with fewer "
        "calls in flight (--parallelism 1)"
    ),
    "maintenance": (
        "the site is in maintenance mode: run again once it is back (Site administration "
        "> Server > Maintenance mode)"
    ),
    "tokenuser": (
        "the token's user cannot use web services as it stands (suspended, deleted, "
        "unconfirmed, expired, or with the 'No login' authentication): mend the account "
        "(Site administration > Users > Browse list of users), or make a token for another "
        "user"
    ),
    "login": (
        "the web service needs a logged-in user: check that the token's service allows "
        f"its users ({SERVICE_PATH} > Authorised users) and that the token is a web-service "
        "token"
    ),
    "disabled": (
        "enable web services (Site administration > Advanced features) and the REST "
        "protocol (Site administration > Server > Web services > Manage protocols)"
    ),
    "bad": "check that the site URL is the site root (plutoctl adds " + ENDPOINT + ")",
    "noinstance": (
        "plutoctl enrols through the course's Manual enrolments method: add or enable it "
        "in the course (Participants > Enrolment methods)"
    ),
    "cannotassign": (
        "let the token's user assign this role (Site administration > Users > Permissions "
        "> Define roles > Allow role assignments)"
    ),
    "fault": (
        "the site's code failed on this call, and nothing of it was kept; this often means "
        "the call names a user, course or group that no longer exists (run plan again to "
        "re-read the site); if it persists, report the message to the site's administrators"
    ),
}
