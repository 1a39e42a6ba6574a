"""What happened to a signed file after signing that pyHanko's own verdicts let through.

- Shadow "replace" attacks: a form field that already showed something when it was signed gets a new value or a new
  appearance in a later revision. PDF counts that as form filling (allowed for approval signatures); a reader sees
  the signed text replaced, so we flag it. Filling a field that was empty at signing time stays allowed.
- Incremental saving attacks with a broken (or missing) appended xref: a viewer repairs the file and shows the
  appended objects, while a strict reader only sees the revisions the xref chain names, so the bytes after the last
  revision it knows are counted here.
- Signature timestamp tokens that cannot even be parsed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_MAX_FIELDS = 10_000
_MAX_DEPTH = 32
_EMPTY_TEXT_APPEARANCE = re.compile(rb"/Tx\s+BMC|EMC|\s+")


def unexplained_tail(pdf_bytes: bytes, reader) -> int:
    """How many bytes follow the end of the last revision the cross-reference chain accounts for (``%%EOF``)."""
    xrefs = reader.xrefs
    end = 0
    for revision in range(xrefs.total_revisions):
        meta = xrefs.get_xref_container_info(revision)
        eof = pdf_bytes.find(b"%%EOF", meta.end_location)
        if eof < 0:
            return len(pdf_bytes) - meta.end_location
        end = max(end, eof + len(b"%%EOF"))
    return len(pdf_bytes[end:].strip(_PDF_WHITESPACE))


def _fields(root) -> Iterator[tuple[str, object, str | None]]:
    """(fully qualified name, field dictionary, field type) of every terminal field, bounded against loops."""
    try:
        top = root["/AcroForm"]["/Fields"]
    except (KeyError, TypeError):
        return
    seen: set[object] = set()
    stack: list[tuple[object, str, str | None, int]] = [(node, "", None, 0) for node in reversed(list(top))]
    while stack and len(seen) < _MAX_FIELDS:
        node, prefix, inherited_type, depth = stack.pop()
        field = node.get_object()  # type: ignore[attr-defined]
        key = getattr(node, "reference", None) or id(field)  # loops of /Kids end here
        if key in seen or depth > _MAX_DEPTH:
            continue
        seen.add(key)
        part = field.get("/T")
        name = (
            f"{prefix}.{part}" if prefix and part is not None else str(part if part is not None else prefix)
        )
        ftype = str(field["/FT"]) if "/FT" in field else inherited_type
        kids = [k for k in field.get("/Kids", ()) if "/T" in k.get_object()]
        if kids:
            stack.extend((kid, name, ftype, depth + 1) for kid in reversed(kids))
        else:
            yield name, field, ftype


def _widgets(field) -> list:
    kids = [k.get_object() for k in field.get("/Kids", ())]
    return kids or [field]


def _showed_something(field, ftype: str | None) -> bool:
    value = field.get("/V")
    if value is not None and str(value) not in ("", "/Off"):
        return True
    for widget in _widgets(field):
        if str(widget.get("/AS", "/Off")) != "/Off":
            return True
        try:
            normal = widget["/AP"]["/N"]
        except (KeyError, TypeError):
            continue
        if ftype != "/Btn" and hasattr(normal, "data") and _EMPTY_TEXT_APPEARANCE.sub(b"", normal.data):
            return True
    return False


def _stream_digest(obj) -> str:
    data = getattr(obj, "data", None)
    return hashlib.sha256(data).hexdigest() if data is not None else repr(obj)


def _shown(field) -> tuple:
    """What decides how the field looks: its value, and per widget its state, appearance streams and DA."""
    widgets = []
    for widget in _widgets(field):
        appearances: list[tuple[str, str]] = []
        try:
            normal = widget["/AP"]["/N"]
        except (KeyError, TypeError):
            normal = None
        if hasattr(normal, "data"):
            appearances.append(("", _stream_digest(normal)))
        elif normal is not None:
            appearances.extend((str(k), _stream_digest(v.get_object())) for k, v in sorted(normal.items()))
        widgets.append((str(widget.get("/AS")), str(widget.get("/DA")), tuple(appearances)))
    return str(field.get("/V")), str(field.get("/DA")), tuple(widgets)


def prefilled_fields_changed(reader, signed_revision: int) -> list[str]:
    """Names of non-signature fields that already showed a value or appearance when signed and look different in
    the newest revision."""
    historical = reader.get_historical_resolver(signed_revision)
    before = {
        name: _shown(field)
        for name, field, ftype in _fields(historical.root)
        if ftype != "/Sig" and _showed_something(field, ftype)
    }
    if not before:
        return []
    return sorted(
        name for name, field, _ in _fields(reader.root) if name in before and _shown(field) != before[name]
    )


def unreadable_timestamp_token(signer_info) -> str | None:
    """A description when a signature timestamp token in the unsigned attributes does not parse."""
    try:
        attrs = signer_info["unsigned_attrs"]
        if attrs.native is None:
            return None
        for attr in attrs:
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    token.native  # noqa: B018  parses the whole token: asn1crypto is lazy
    except (ValueError, TypeError, KeyError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None
