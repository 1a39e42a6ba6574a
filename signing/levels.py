"""PAdES baseline levels (ETSI EN 319 142-1)."""

from __future__ import annotations

import enum

from .errors import SigningError


class SignatureLevel(enum.StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @classmethod
    def parse(cls, value: str | SignatureLevel) -> SignatureLevel:
        if isinstance(value, SignatureLevel):
            return value
        normalised = value.strip().upper().replace("_", "-")
        if not normalised.startswith("B-"):
            normalised = "B-" + normalised
        try:
            return cls(normalised)
        except ValueError:
            raise ValueError(
                f"unknown PAdES level {value!r}; expected one of B-B, B-T, B-LT, B-LTA"
            ) from None

    @property
    def needs_tsa(self) -> bool:
        return self is not SignatureLevel.B_B

    @property
    def embeds_validation_data(self) -> bool:
        return self in (SignatureLevel.B_LT, SignatureLevel.B_LTA)


def default_level(tsa_url: str | None) -> SignatureLevel:
    # B-LTA whenever a TSA is configured: school records must stay verifiable for decades.
    return SignatureLevel.B_LTA if tsa_url else SignatureLevel.B_B


def resolve_level(level: str | SignatureLevel | None, tsa_url: str | None) -> SignatureLevel:
    """The level to sign at (``None``: :func:`default_level`); :class:`SigningError` when it is unknown or needs a
    timestamp authority and ``tsa_url`` is missing."""
    try:
        lvl = SignatureLevel.parse(level) if level is not None else default_level(tsa_url)
    except ValueError as exc:
        raise SigningError(str(exc)) from None
    if lvl.needs_tsa and not tsa_url:
        raise SigningError(f"level {lvl} needs a timestamp authority URL (tsa_url)")
    return lvl
