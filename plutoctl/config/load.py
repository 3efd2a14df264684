"""``load_config``: read a config file, check it and its CSV files, return it loaded."""

from __future__ import annotations

import logging
from pathlib import Path

from plutoctl.config.input_files import MAX_CONFIG_BYTES, FileRefusedError, read_bounded
from plutoctl.config.loaded import LoadedConfig
from plutoctl.config.positions import with_more
from plutoctl.config.validate import check_document
from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.errors import ConfigError, Position, Problem
from plutoctl.heap import rare_collection

logger = logging.getLogger(__name__)


def load_config(path: str | Path) -> LoadedConfig:
    """Load and validate a config file and every CSV file it names.

    Raises ConfigError listing every problem (warnings included) if anything is
    wrong; otherwise returns the config, with warnings in ``LoadedConfig.warnings``.
    Messages cite the path as given, so a relative path stays relative.
    """
    shown = str(path)
    file = Path(path)
    text = _read_text(file, shown)
    # Nodes, positions, rows and models by the 100,000 in a large config, and no
    # cycles among them: the collector would walk them all again as they are made.
    with rare_collection():
        document = parse_yaml(text, shown)
        problems = list(document.problems)
        if document.data is None and problems:
            raise ConfigError(problems)
        result = check_document(document.data, document.positions, shown, file.parent)
    problems.extend(result.problems)
    if result.config is None or any(not p.is_warning for p in problems):
        raise ConfigError(problems)
    warnings = tuple(sorted(problems, key=lambda p: (p.position, p.message)))
    logger.debug(
        "loaded %s: %d sites, %d segments, %d courses, %d warnings",
        shown,
        len(result.config.sites),
        len(result.config.segments),
        len(result.config.courses),
        len(warnings),
    )
    return LoadedConfig(
        config=result.config,
        path=file,
        positions=with_more(document.positions, result.positions),
        csv_members=result.csv_members,
        warnings=warnings,
    )


def _read_text(file: Path, shown: str) -> str:
    """Return the file's text, or raise ConfigError saying why it cannot be read."""
    try:
        raw = read_bounded(file, MAX_CONFIG_BYTES)
    except FileRefusedError as exc:
        raise _unreadable(shown, f"the config file {exc.message}", exc.hint) from None
    except FileNotFoundError:
        raise _unreadable(
            shown,
            "config file not found",
            "name the config file with -c FILE, or copy segments.yaml.example to start one",
        ) from None
    except IsADirectoryError:
        raise _unreadable(
            shown, "is a directory, not a config file", "name a file with -c FILE"
        ) from None
    except OSError as exc:
        raise _unreadable(shown, f"cannot read the config file: {exc.strerror}", None) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = Problem(
            Position(shown, line),
            f"the config file is not UTF-8 (byte 0x{raw[exc.start]:02x} on this line)",
            hint="save the file as UTF-8",
        )
        raise ConfigError([problem]) from None


def _unreadable(shown: str, message: str, hint: str | None) -> ConfigError:
    return ConfigError([Problem(Position(shown), message, hint=hint)])
