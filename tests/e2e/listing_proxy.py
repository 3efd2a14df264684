"""A proxy on 127.0.0.1 (port 0) in front of a site that drops one user from one listing.

It forwards every web-service call unchanged, except that in the answer of the chosen
listing it leaves out one user: the inconsistent read a busy site can give (a user
created, re-enrolled or re-indexed between two calls).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

SITE_COURSE_ID = "1"

LISTINGS = (
    "site-users",  # core_enrol_get_enrolled_users of the site course: every user
    "course-enrolments",  # core_enrol_get_enrolled_users of a course
    "segment-members",  # core_cohort_get_cohort_members
    "group-members",  # core_group_get_group_members
    "user-lookup",  # core_user_get_users_by_field
    "site-users-fallback",  # core_user_get_users, where the site course may not be listed
)
PARTIAL = "enrolment-roles"  # the user's course enrolment, read without its roles


MEMBER_LISTS = {
    "segment-members": "core_cohort_get_cohort_members",
    "group-members": "core_group_get_group_members",
}


NO_PERMISSION = {
    "exception": "required_capability_exception",
    "errorcode": "nopermissions",
    "message": "Sorry, but you do not currently have permissions to do that (View participants).",
}


def drop(listing: str, form: dict[str, list[str]], answer: Any, user_id: int) -> Any:
    """Return the answer without ``user_id`` if the call is ``listing``."""
    function = form.get("wsfunction", [""])[0]
    is_site = form.get("courseid", [""])[0] == SITE_COURSE_ID
    if listing == "site-users-fallback":
        if function == "core_enrol_get_enrolled_users" and is_site:
            return NO_PERMISSION  # the reader then lists users with core_user_get_users
        if function == "core_user_get_users" and isinstance(answer, dict):
            users = [user for user in answer["users"] if user.get("id") != user_id]
            return {**answer, "users": users}
        return answer
    if not isinstance(answer, list):
        return answer
    if MEMBER_LISTS.get(listing) == function:
        return [
            {**item, "userids": [i for i in item["userids"] if i != user_id]} for item in answer
        ]
    is_users = (
        (listing == "site-users" and function == "core_enrol_get_enrolled_users" and is_site)
        or (
            listing == "course-enrolments"
            and function == "core_enrol_get_enrolled_users"
            and not is_site
        )
        or (listing == "user-lookup" and function == "core_user_get_users_by_field")
    )
    if is_users:
        return [user for user in answer if user.get("id") != user_id]
    if listing == PARTIAL and function == "core_enrol_get_enrolled_users" and not is_site:
        return [
            {k: v for k, v in user.items() if k != "roles" or user.get("id") != user_id}
            for user in answer
        ]
    return answer


class ListingProxy:
    """Serve on 127.0.0.1 port 0; ``url`` is the site URL to give plutoctl."""

    def __init__(self, target: str, listings: tuple[str, ...], user_id: int) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = urllib.request.Request(
                    target + self.path,
                    data=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, raw = response.status, response.read()
                form = parse_qs(body.decode("utf-8"))
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = None
                if isinstance(answer, list | dict):
                    for listing in proxy.listings:
                        answer = drop(listing, form, answer, proxy.user_id)
                    raw = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.listings = listings
        self.user_id = user_id
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # serve_forever looks for shutdown() every poll_interval (0.5 s by default).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ListingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
