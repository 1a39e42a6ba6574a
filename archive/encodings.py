"""Vietnamese text typed in the legacy 8-bit font encodings, found and turned into Unicode.

Before Unicode, Vietnamese documents were typed in fonts that reuse Latin-1 code points: TCVN3 (ABC, fonts named
.VnTime, .VnArial …) gives each accented letter its own code ("Rót kinh nghiÖm"), VNI (fonts VNI-Times …) writes
the base letter followed by mark characters ("Ruùt kinh nghieäm"). Word keeps those code points, so a plan typed in
them reads as gibberish to any Unicode search. Text is decoded paragraph by paragraph, because one document often
mixes a Unicode heading with a legacy body.

Both encodings reuse letters Unicode Vietnamese has too (TCVN3's "ó" is ú, VNI's "oà" is ồ), so no character alone
tells them apart: each paragraph is read three ways (as it is, as TCVN3, as VNI) and the reading with the most
well-formed Vietnamese syllables wins; a tie keeps the text as it is.
"""

from __future__ import annotations

import re
import unicodedata

TCVN3 = "TCVN3"
VNI = "VNI"
NAMES = {TCVN3: "TCVN3 (ABC)", VNI: "VNI"}

# TCVN3 (TCVN 5712:1993, VN3) code → Unicode, lower-case letters and the seven upper-case ones it has
_TCVN3 = dict(
    zip(
        "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\xadõøö÷ùúýûüþ¡¢£¤¥¦§",
        "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂÊÔƠƯĐ",
        strict=True,
    )
)

_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
# VNI mark characters after a vowel → combining marks (lower- and upper-case forms)
_VNI_MARKS = {
    "ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT,
    "Ù": _ACUTE, "Ø": _GRAVE, "Û": _HOOK, "Õ": _TILDE, "Ï": _DOT,
    "â": _CIRCUMFLEX, "á": _CIRCUMFLEX + _ACUTE, "à": _CIRCUMFLEX + _GRAVE, "å": _CIRCUMFLEX + _HOOK,
    "ã": _CIRCUMFLEX + _TILDE, "ä": _CIRCUMFLEX + _DOT,
    "Â": _CIRCUMFLEX, "Á": _CIRCUMFLEX + _ACUTE, "À": _CIRCUMFLEX + _GRAVE, "Å": _CIRCUMFLEX + _HOOK,
    "Ã": _CIRCUMFLEX + _TILDE, "Ä": _CIRCUMFLEX + _DOT,
    "ê": _BREVE, "é": _BREVE + _ACUTE, "è": _BREVE + _GRAVE, "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE,
    "ë": _BREVE + _DOT,
    "Ê": _BREVE, "É": _BREVE + _ACUTE, "È": _BREVE + _GRAVE, "Ú": _BREVE + _HOOK, "Ü": _BREVE + _TILDE,
    "Ë": _BREVE + _DOT,
}  # fmt: skip
# which marks may follow which base letter: circumflex only after a/e/o, breve only after a; tones after any vowel
_TONES = frozenset("ùøûõïÙØÛÕÏ")
_CIRCUMFLEX_MARKS = frozenset("âáàåãäÂÁÀÅÃÄ")
_BREVE_MARKS = frozenset("êéèúüëÊÉÈÚÜË")
_VNI_LETTERS = {
    "ô": "o" + _HORN, "Ô": "O" + _HORN, "ö": "u" + _HORN, "Ö": "U" + _HORN, "ñ": "đ", "Ñ": "Đ",
    "í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "Í": "Í", "Ì": "Ì", "Æ": "Ỉ", "Ó": "Ĩ", "Ò": "Ị",
}  # fmt: skip
_VOWELS = frozenset("aeiouyAEIOUY")


def decode_tcvn3(text: str) -> str:
    return "".join(_TCVN3.get(c, c) for c in text)


def decode_vni(text: str) -> str:
    out: list[str] = []
    prev_base = ""  # the base letter the previous characters built ("" after anything else)
    for c in text:
        mark = _VNI_MARKS.get(c)
        if mark is not None and prev_base:
            allowed = (
                c in _TONES
                or (c in _CIRCUMFLEX_MARKS and prev_base in "aeoAEO")
                or (c in _BREVE_MARKS and prev_base in "aA")
            )
            if allowed:
                out.append(mark)
                prev_base = "" if c not in _TONES and c not in ("â", "Â", "ê", "Ê") else prev_base
                continue
        letter = _VNI_LETTERS.get(c)
        if letter is not None:
            out.append(letter)
            prev_base = letter[0] if letter[0] in "ouOU" else ""
            continue
        out.append(c)
        prev_base = c if c in _VOWELS else ""
    return unicodedata.normalize("NFC", "".join(out))


_TONE_MARKS = frozenset((_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT))
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?:uyê|uya|uyu|ươi|ươu|oai|oay|oeo|uôi|iêu|yêu|ươ|uô|iê|yê|uâ|uê|uy|oa|oă|oe|ai|ao|au|ay|âu|ây|eo|êu|ia"
    r"|iu|oi|ôi|ơi|ua|ui|ưa|ưi|ưu|oo|ôô|[aăâeêioôơuưy])"
    r"(?:ch|ng|nh|[cmnpt])?"
)
_WORD = re.compile(r"[^\W\d_]+")


def _syllables(text: str) -> int:
    """How many words of ``text`` are well-formed Vietnamese syllables (one tone at most, known onset, vowel cluster
    and final): the measure of which reading of a paragraph makes sense."""
    count = 0
    for word in _WORD.findall(text.casefold()):
        decomposed = unicodedata.normalize("NFD", word)
        if sum(c in _TONE_MARKS for c in decomposed) > 1:
            continue
        toneless = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
        if _SYLLABLE.fullmatch(toneless) and not word.isascii():
            count += 1
    return count


def detect(text: str) -> str | None:
    """TCVN3, VNI or None (Unicode, or nothing to tell) for a paragraph: the reading with the most Vietnamese
    syllables wins, Unicode on a tie."""
    if not any("\u00a0" <= c <= "\u00ff" for c in text):
        return None  # both legacy encodings live in Latin-1's upper half
    best, best_score = None, _syllables(text)
    for name, decode in ((TCVN3, decode_tcvn3), (VNI, decode_vni)):
        score = _syllables(decode(text))
        if score > best_score:
            best, best_score = name, score
    return best


def to_unicode(text: str) -> tuple[str, str | None]:
    """The paragraph in Unicode, and the legacy encoding it was in (None when it was Unicode already)."""
    found = detect(text)
    if found == TCVN3:
        return decode_tcvn3(text), TCVN3
    if found == VNI:
        return decode_vni(text), VNI
    return text, None
