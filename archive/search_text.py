"""Text folded for searching: "Sổ theo dõi" and "so theo doi" meet, "Ánh" and "anh" too.

Vietnamese letters decompose (NFD) into a base letter and marks, except đ/Đ, which is a letter of its own and is
mapped to d by hand. The folded form is stored with each document (documents.search_text) so one plain LIKE finds it
on SQLite and PostgreSQL alike, without unaccent() or ICU collations that only one of them has.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def strip_marks(text: str) -> str:
    """The text without diacritics (đ → d, Đ → D), case kept."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def fold(text: str | None) -> str:
    """Lower case, without diacritics, đ → d, runs of white space as one space."""
    if not text:
        return ""
    return _SPACES.sub(" ", strip_marks(text).casefold()).strip()


def words(text: str | None) -> list[str]:
    """The folded words of a text (punctuation separates words, like a space)."""
    return _NOT_WORD.sub(" ", fold(text)).split()


def document_search_text(
    title: str | None, class_name: str | None, subject: str | None, teacher: str | None
) -> str:
    """What the document list's search box looks through: the folded words, each preceded by a space, so that a
    word typed matches the start of a word ("anh" finds "Ánh", not "đánh")."""
    return "".join(f" {w}" for x in (title, class_name, subject, teacher) for w in words(x))


def like_patterns(query: str) -> list[str]:
    """One LIKE pattern per word typed (all must match, in any order): "so doi" finds "Sổ theo dõi"."""
    return [f"% {w}%" for w in words(query)]
