"""docs/permissions.md shows the same matrix as archive/permissions.py (the doc cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

from archive.permissions import ACTIONS, MATRIX, ROLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"


def test_documented_matrix_matches_the_code():
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `") and "." in line.split("`")[1]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].split("`")[1]] = [c == "✔" for c in cells[1:]]
    assert set(rows) == set(ACTIONS)
    for action, marks in rows.items():
        assert {r for r, m in zip(ROLES, marks, strict=True) if m} == {
            r for r in ROLES if action in MATRIX[r]
        }
