"""A person's views over time: their statements placed by date, one lane per stance.

The layout is computed here and drawn as SVG by the ``timeline`` macro
(kb/web/templates/_kb_macros.html), like the other charts: no JavaScript,
nothing from a CDN. Labels are plain strings for Jinja to escape.
"""

from __future__ import annotations

from datetime import date

# Lane colours, by the stance's place in the order given; statements without a stance are grey.
PALETTE = ("#4a7dbd", "#d9822b", "#3f9b5c", "#b04a8a", "#7a6bd1", "#a08a2a")
NO_STANCE = "#999999"
LABEL_WIDTH = 170
LANE_HEIGHT = 22
AXIS_HEIGHT = 20


def timeline(statements: list[dict], stances: list[str], width: int = 560) -> dict:
    """Dots for ``statements`` (each with ``published``, ``stance``, ``text``, ``link``) on a time axis,
    one lane per stance in ``stances`` order (and "no stance" last, when some have none);
    statements without a readable date are counted in ``undated``, not drawn."""
    dated = [(day, s) for s in statements if (day := _day(s.get("published")))]
    lanes = [name for name in stances if any(s.get("stance") == name for _, s in dated)]
    if any(not s.get("stance") for _, s in dated):
        lanes.append(None)
    result = {
        "width": width,
        "height": len(lanes) * LANE_HEIGHT + AXIS_HEIGHT,
        "label_width": LABEL_WIDTH,
        "lanes": [],
        "dots": [],
        "ticks": [],
        "undated": len(statements) - len(dated),
    }
    if not dated:
        return result
    first, last = min(day for day, _ in dated), max(day for day, _ in dated)
    span = max((last - first).days, 1)
    plot = width - LABEL_WIDTH - 20

    def x(day: date) -> float:
        return round(LABEL_WIDTH + 10 + plot * ((day - first).days / span if last != first else 0.5), 1)

    for index, name in enumerate(lanes):
        y = index * LANE_HEIGHT + LANE_HEIGHT // 2
        colour = PALETTE[stances.index(name) % len(PALETTE)] if name else NO_STANCE
        result["lanes"].append({"stance": name or "no stance", "y": y, "colour": colour})
    lane_of = {lane["stance"]: lane for lane in result["lanes"]}
    same_day: dict[tuple[str, date], int] = {}  # statements of one day in one lane sit side by side
    for day, statement in sorted(dated, key=lambda item: item[0]):
        lane = lane_of[statement.get("stance") or "no stance"]
        nth = same_day[lane["stance"], day] = same_day.get((lane["stance"], day), -1) + 1
        result["dots"].append(
            {
                "x": round(x(day) + 7 * nth, 1),
                "y": lane["y"],
                "colour": lane["colour"],
                "link": statement["link"],
                "label": f"{day.isoformat()} · {lane['stance']}: {' '.join((statement.get('text') or '').split())[:160]}",
            }
        )
    for year in range(first.year, last.year + 1):
        tick = max(first, date(year, 1, 1))
        result["ticks"].append({"x": x(tick), "label": str(year)})
    return result


def _day(value: str | None) -> date | None:
    """A stored date (2024-03-12, or 2024-03, or 2024) as a day; None when it is not one."""
    value = (value or "").strip()
    for length, suffix in ((10, ""), (7, "-01"), (4, "-01-01")):
        if len(value) < length:
            continue
        try:
            return date.fromisoformat(value[:length] + suffix)
        except ValueError:
            continue
    return None
