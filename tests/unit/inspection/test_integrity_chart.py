"""The integrity page's chart: bar heights follow copies checked, damage is marked, times are Vietnam time."""

from __future__ import annotations

from datetime import UTC, datetime

from hoso.web.pages_integrity import chart


def run(
    hour: int, copies: int, kind: str = "light", damage: int = 0, unrepaired: int = 0
) -> dict[str, object]:
    return {"finished_at": datetime(2026, 12, 3, hour, 0, tzinfo=UTC), "kind": kind, "copies_checked": copies,
            "damage_found": damage, "repaired": damage - unrepaired, "unrepaired": unrepaired}  # fmt: skip


def test_bars_scale_to_the_largest_run_and_mark_damage() -> None:
    c = chart([run(1, 100, "full", damage=2, unrepaired=1), run(2, 50), run(3, 0)])
    a, b, z = c["bars"]
    assert c["top"] == 100 and a["h"] == 2 * b["h"] and z["h"] == 0
    assert a["y"] + a["h"] == b["y"] + b["h"] == c["base"]  # every bar stands on the axis
    assert a["full"] and not b["full"] and (a["damage"], a["unrepaired"], b["damage"]) == (2, 1, 0)
    assert a["x"] < b["x"] < z["x"] and a["w"] <= 28
    assert c["first"] == "03/12 08:00 (+07:00)" and c["last"] == "03/12 10:00"


def test_no_runs_is_an_empty_chart() -> None:
    c = chart([])
    assert c["bars"] == [] and c["first"] == "" and c["top"] == 1
