"""The one school-year rule (archive/school_year.py): its form and the day a new school year starts."""

from datetime import date

from archive.school_year import current_school_year, years_of


def test_years_of_reads_consecutive_years_only():
    assert years_of(" 2024-2025 ") == (2024, 2025)
    assert years_of("2024-2026") is None
    assert years_of("2024") is None


def test_a_school_year_starts_on_1_august():
    assert current_school_year(date(2025, 5, 31)) == "2024-2025"
    assert current_school_year(date(2025, 7, 31)) == "2024-2025"
    assert current_school_year(date(2025, 8, 1)) == "2025-2026"
    assert current_school_year(date(2026, 1, 15)) == "2025-2026"
