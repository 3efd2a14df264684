"""``plutoctl sandbox serve`` and ``plutoctl sandbox seed``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from ws_helpers import ENDPOINT

from plutoctl.cli import main
from plutoctl.sandbox import Store

CSV = "username,firstname,lastname,email,course1,cohort1\njdoe,Jane,Doe,j@example.com,C1,s1\n"


def test_seed_from_csv(tmp_path: Path, capsys) -> None:
    (tmp_path / "u.csv").write_text(CSV)
    db = tmp_path / "lms.db"
    assert main(["sandbox", "seed", str(tmp_path / "u.csv"), "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"Seeded {db}: 1 user added.\n"
    store = Store(db)
    assert store.cohort_members("s1") == {"jdoe"}
    store.close()


def test_seed_generate(tmp_path: Path, capsys) -> None:
    db = tmp_path / "big.db"
    args = ["sandbox", "seed", "--generate", "users=300,courses=2,cohorts=3,members=5",
            "--field", "department:menu:Sales|HR|IT|Ops", "--db", str(db)]  # fmt: skip
    assert main(args) == 0
    assert "300 users added" in capsys.readouterr().out
    store = Store(db)
    assert store.user_count() == 302
    assert len(store.cohorts()) == 3
    store.close()


def test_seed_usage_errors(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "x.db")
    assert main(["sandbox", "seed", "--db", db]) == 64
    assert main(["sandbox", "seed", "--generate", "people=3", "--db", db]) == 64
    assert "bad --generate item 'people=3'" in capsys.readouterr().err


def test_seed_bad_field_is_a_usage_error(tmp_path: Path, capsys) -> None:
    args = ["sandbox", "seed", "--generate", "users=3", "--field", "x:date"]
    assert main([*args, "--db", str(tmp_path / "x.db")]) == 64
    assert "TYPE one of text, textarea, menu, checkbox" in capsys.readouterr().err


def test_seed_csv_unreadable_rows_cite_their_line(tmp_path: Path, capsys) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"username,firstname\nzoe,Zo\xe9\n")
    assert main(["sandbox", "seed", str(latin), "--db", str(tmp_path / "a.db")]) == 1
    err = capsys.readouterr().err
    assert f"{latin}:2: the file is not UTF-8 (byte 0xe9 on this line)" in err
    assert "1 problem(s) in the seed CSV" in err
    long = tmp_path / "long.csv"
    long.write_text("username,firstname\nok,A\nzoe," + "x" * 200_000 + "\n")
    assert main(["sandbox", "seed", str(long), "--db", str(tmp_path / "b.db")]) == 1
    assert f"{long}:3: a field starting on this line is longer than" in capsys.readouterr().err


def test_reset_leaves_what_is_not_a_database(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.db").write_text("my notes")
    (tmp_path / "folder.db").mkdir()
    for name in ("notes.db", "folder.db"):
        config = tmp_path / f"{name}.yaml"
        config.write_text(
            f"version: 1\nsites: {{demo: {{url: 'sandbox:{name}'}}}}\n"
            "segments: {s1: {name: S, members: []}}\n"
        )
        assert main(["sandbox", "reset", "-c", str(config)]) == 1
        assert f"{tmp_path / name} is not a SQLite database; not removing it" in (
            capsys.readouterr().err
        )
    assert (tmp_path / "notes.db").read_text() == "my notes"
    assert (tmp_path / "folder.db").is_dir()


def test_seed_csv_error_cites_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "u.csv").write_text("username,course1,role1\nok,C1,boss\n")
    assert main(["sandbox", "seed", str(tmp_path / "u.csv"), "--db", str(tmp_path / "x.db")]) == 1
    assert f"{tmp_path / 'u.csv'}:2: unknown role 'boss' in role1" in capsys.readouterr().err


def test_serve_prints_url_and_token_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(CSV)
    process = subprocess.Popen(
        [sys.executable, "-m", "plutoctl", "sandbox", "serve", "--db", str(tmp_path / "s.db"),
         "--seed", str(tmp_path / "u.csv"), "--max-input-vars", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    try:
        url = process.stdout.readline().split()[-1]
        token = process.stdout.readline().split()[-1]
        body = requests.post(
            url + ENDPOINT,
            data={"wstoken": token, "wsfunction": "core_user_get_users_by_field",
                  "moodlewsrestformat": "json", "field": "username", "values[0]": "jdoe"},
            timeout=10,
        ).json()  # fmt: skip
        assert body[0]["username"] == "jdoe"
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped." in err


def test_a_seed_that_fails_leaves_no_database_to_pass_for_a_seeded_one(
    tmp_path: Path, capsys
) -> None:
    """A half-made file was taken as seeded by the next serve or plan, which skip the
    seed of an existing database."""
    bad = tmp_path / "bad.csv"
    bad.write_text("username,firstname,lastname,email,course1,role1\n,A,B,a@x.org,C1,chief\n")
    db = tmp_path / "half.db"
    assert main(["sandbox", "seed", str(bad), "--db", str(db)]) == 1
    assert "problem(s) in the seed CSV" in capsys.readouterr().err
    assert not db.exists()
    (tmp_path / "u.csv").write_text(CSV)
    assert main(["sandbox", "seed", str(tmp_path / "u.csv"), "--db", str(db)]) == 0
    assert main(["sandbox", "seed", str(bad), "--db", str(db)]) == 1  # into a seeded one
    store = Store(db)  # kept: it held what the first seed loaded
    assert store.cohort_members("s1") == {"jdoe"}
    store.close()


def test_generate_into_an_existing_database_is_refused(tmp_path: Path, capsys) -> None:
    """Its names restart: users clashed (exit 70), segment IDs were made twice."""
    db = tmp_path / "big.db"
    args = ["sandbox", "seed", "--generate", "users=10,cohorts=3", "--db", str(db)]
    assert main(args) == 0
    # What was made, all of it (the cohorts went unsaid).
    assert capsys.readouterr().out == f"Seeded {db}: 10 users added, 3 cohorts.\n"
    assert main(args) == 1  # the file's state, not the command line: not a usage error
    assert f"--generate fills a new database, and {db} exists" in capsys.readouterr().err
    store = Store(db)
    assert store.user_count() == 12 and len(store.cohorts()) == 3
    store.close()


def test_reset_of_several_sites_checks_every_one_before_removing_any(
    tmp_path: Path, capsys
) -> None:
    (tmp_path / "notes.db").write_text("my notes")
    config = tmp_path / "s.yaml"
    config.write_text(
        "version: 1\nsites:\n  a: {url: 'sandbox:a.db'}\n  b: {url: 'sandbox:notes.db'}\n"
        "segments: {s1: {name: S, members: []}}\n"
    )
    Store(tmp_path / "a.db").close()
    assert main(["sandbox", "reset", "-c", str(config)]) == 1
    assert "notes.db is not a SQLite database; not removing it (nor any other)" in (
        capsys.readouterr().err
    )
    assert (tmp_path / "a.db").exists()


def test_serve_makes_the_database_folder_as_plan_does(tmp_path: Path) -> None:
    from plutoctl.sandbox import open_embedded

    db = tmp_path / ".plutoctl" / "demo.db"
    with open_embedded(db) as sandbox:
        assert requests.post(sandbox.url + ENDPOINT, timeout=10).status_code == 200
    assert db.exists()
