"""The plan's report formats, named once: for ``--format`` and for ``render``.

A module of its own so that the command line can offer the choice without
importing the renderers.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["text", "json", "markdown", "html"]
FORMATS: tuple[str, ...] = get_args(Format)
