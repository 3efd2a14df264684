"""segments_csv end to end: 1,000 segments from bulk-create CSVs as Pluto admins write
them plan, apply and converge; export --segments-csv round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TOKEN_VAR = "PLUTO_TOKEN_BULK"
# How admins fill the visible column, and what each means.
VISIBLE_CELLS = {"yes": True, "no": False, "1": True, "0": False, "": True, "Y": True, "No": False}
USERS = [f"user{i:02d}" for i in range(12)]


def _cell(value: str, delimiter: str) -> str:
    if delimiter in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def write_upload_csv(
    path: Path,
    header: list[str],
    rows: list[dict[str, str]],
    delimiter: str,
    *,
    bom: bool,
    eol: str,
) -> None:
    """Write rows as a spreadsheet export would: chosen delimiter, BOM, line ends."""
    keys = [name.lower().replace(" ", "") for name in header]
    lines = [delimiter.join(header)]
    lines += [delimiter.join(_cell(row.get(key, ""), delimiter) for key in keys) for row in rows]
    data = (eol.join(lines) + eol + eol).encode("utf-8")  # a trailing blank line, as Excel
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)


def bulk_rows(count: int) -> list[dict[str, str]]:
    """Segments as admins name them: unicode, commas, semicolons, quotes, line breaks."""
    cells = list(VISIBLE_CELLS)
    rows = []
    for i in range(count):
        rows.append(
            {
                "name": [f"Team {i}", f"Équipe {i}, Lyon", f"Ops; shift {i}", f'The "{i}" crew'][
                    i % 4
                ],
                "idnumber": f"seg-{i:04d}",
                "description": ["", f"Team {i}; weekly", f"Line one\nline two {i}", "x"][i % 4],
                "visible": cells[i % len(cells)],
            }
        )
    return rows


@pytest.fixture
def bulk_config(sandbox, tmp_path: Path, monkeypatch) -> Path:
    for username in USERS:
        sandbox.store.add_user(username, firstname="F", lastname=username)
    sandbox.store.add_profile_field("department", "menu", options=["Sales", "HR"])
    sandbox.store.set_profile("user01", department="Sales")
    sandbox.store.set_profile("user02", department="Sales")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    rows = bulk_rows(1000)
    write_upload_csv(  # Excel on Windows: semicolons, BOM, CRLF, spaced headers
        tmp_path / "emea.csv",
        ["Name", "ID Number", "Description", "Visible"],
        rows[:400],
        ";",
        bom=True,
        eol="\r\n",
    )
    write_upload_csv(  # Excel on a Mac: commas, LF, a context column, an unknown column
        tmp_path / "amer.csv",
        ["idnumber", "name", "visible", "description", "context", "owner"],
        [
            {**row, "context": "System" if i % 2 else "", "owner": "ana"}
            for i, row in enumerate(rows[400:800])
        ],
        ",",
        bom=False,
        eol="\n",
    )
    write_upload_csv(  # Google Sheets: commas, BOM, CRLF, contextid 1
        tmp_path / "apac.csv",
        ["name", "idnumber", "description", "visible", "contextid"],
        [{**row, "contextid": "1"} for row in rows[800:]],
        ",",
        bom=True,
        eol="\r\n",
    )
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"""version: 1
sites:
  lab:
    url: {sandbox.url}
    token: ${{{TOKEN_VAR}}}
segments_csv: [emea.csv, amer.csv, apac.csv]
segments:
  seg-0000:                # declared by emea.csv; YAML adds members
    members: [user00, user03]
  seg-0001:                # its row has a description; YAML adds a rule
    rules:
      - {{field: department, match: exact, value: Sales}}
    exclude: [user02]
  seg-0800:
    members: [user04]
    membership: additive
  yaml-only:
    name: Declared in YAML
""",
        encoding="utf-8",
    )
    return config


def test_thousand_csv_segments_plan_apply_converge(bulk_config: Path, sandbox, run) -> None:
    validated = run("validate", "-c", str(bulk_config))
    assert validated.code == 0, validated.err
    assert "OK: 1001 segments" in validated.out
    assert "amer.csv:1: warning: unknown column(s) 'owner'" in validated.err

    first = run("plan", "-c", str(bulk_config), "--detailed-exitcode")
    assert first.code == 2, first.err + first.out
    assert "1,001 segments to create" in first.out

    applied = run("apply", "-c", str(bulk_config), "--auto-approve")
    assert applied.code == 0, applied.err + applied.out

    second = run("plan", "-c", str(bulk_config), "--detailed-exitcode")
    assert second.code == 0, second.err + second.out
    assert "No changes." in second.out

    cohorts = sandbox.store.cohorts()
    assert len(cohorts) == 1001
    rows = bulk_rows(1000)
    for i in (0, 1, 2, 3, 4, 5, 6, 401, 402, 799, 800, 999):
        row, cohort = rows[i], cohorts[f"seg-{i:04d}"]
        assert cohort["name"] == row["name"], i
        assert cohort["description"] == row["description"], i
        assert cohort["visible"] is VISIBLE_CELLS[row["visible"]], (i, row["visible"])
    assert sandbox.store.cohort_members("seg-0000") == {"user00", "user03"}
    assert sandbox.store.cohort_members("seg-0001") == {"user01"}
    assert sandbox.store.cohort_members("seg-0800") == {"user04"}


def test_export_segments_csv_round_trips(bulk_config: Path, sandbox, run, tmp_path: Path) -> None:
    assert run("apply", "-c", str(bulk_config), "--auto-approve").code == 0
    out = tmp_path / "exported" / "site.yaml"
    result = run(
        "export",
        "-c",
        str(bulk_config),
        "--site",
        "lab",
        "--segments-csv",
        "segments.csv",
        "-o",
        str(out),
    )
    assert result.code == 0, result.err
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert exported["segments_csv"] == "segments.csv"
    assert exported["segments"]["seg-0000"] == {"members": ["user00", "user03"]}
    assert "name" not in exported["segments"]["seg-0000"]
    text = (out.parent / "segments.csv").read_bytes().decode("utf-8")
    assert text.startswith("name,idnumber,description,visible\r\n")
    assert '"Line one\nline two 2"' in text

    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out


def test_export_segments_csv_needs_out(bulk_config: Path, run) -> None:
    result = run("export", "-c", str(bulk_config), "--site", "lab", "--segments-csv", "s.csv")
    assert result.code == 64
    assert "--segments-csv needs --out" in result.err


def test_export_never_overwrites_a_segments_csv_the_config_reads(
    bulk_config: Path, run, tmp_path: Path
) -> None:
    before = (tmp_path / "emea.csv").read_bytes()
    out = tmp_path / "site.yaml"
    result = run(
        "export",
        "-c",
        str(bulk_config),
        "--site",
        "lab",
        "--segments-csv",
        "emea.csv",
        "-o",
        str(out),
    )
    assert result.code == 1
    assert "which this config reads; nothing was written" in result.err
    assert (tmp_path / "emea.csv").read_bytes() == before
    assert not out.exists()
