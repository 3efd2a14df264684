"""The HTTP session of one site's client: one pool, plutoctl's User-Agent, no retries
(the client runs its own loop), and the environment's settings taken once.
"""

from __future__ import annotations

import os

import requests
from requests.adapters import HTTPAdapter

from plutoctl import __version__


def new_session(pool_size: int, endpoint: str) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"plutoctl/{__version__}"
    _settle_environment(session, endpoint)
    return session


def _settle_environment(session: requests.Session, endpoint: str) -> None:
    """Take the proxy, CA bundle and .netrc settings for ``endpoint`` from the environment once.

    requests looks them up again on every request (environment scan, no_proxy match,
    .netrc), about a third of its CPU per call; a client talks to one endpoint, so the
    answer is the same each time.
    """
    for scheme, proxy in requests.utils.get_environ_proxies(endpoint).items():
        session.proxies.setdefault(scheme, proxy)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.auth = requests.utils.get_netrc_auth(endpoint)
    session.trust_env = False
