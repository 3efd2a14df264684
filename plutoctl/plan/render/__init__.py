"""Plan reports: text, json, markdown and html (docs/plan-format.md).

``render(plan, fmt)`` picks the renderer by format name. JSON is complete and never
abbreviated, so it ignores ``colour`` and ``show_members``; only text uses colour.
"""

from __future__ import annotations

from plutoctl.errors import UsageError
from plutoctl.plan.changes.plans import Plan
from plutoctl.plan.formats import FORMATS, Format
from plutoctl.plan.render.json import render_json
from plutoctl.plan.render.text import render_text


def render(plan: Plan, fmt: Format, *, colour: bool = False, show_members: bool = False) -> str:
    """Return the plan rendered in ``fmt`` (text, json, markdown or html).

    The markdown and html renderers are imported when asked for: a plan or an apply
    shows text and saves json, and every module imported is start-up time.
    """
    match fmt:
        case "text":
            return render_text(plan, colour=colour, show_members=show_members)
        case "json":
            return render_json(plan)
        case "markdown":
            from plutoctl.plan.render.markdown import render_markdown

            return render_markdown(plan, show_members=show_members)
        case "html":
            from plutoctl.plan.render.html import render_html

            return render_html(plan, show_members=show_members)
    raise UsageError(f"unknown plan format {fmt!r}; choose one of {', '.join(FORMATS)}")


__all__ = ["render"]
