"""PKCS#11 tokens seen by the agent: which modules, which tokens, which certificates, and signing with one login.

The PIN is used for one login and then dropped: it is never kept, logged or retried. A wrong PIN is reported as such
(with what the token says about the tries left) and the agent never tries again on its own, so a person can never
lock her token through the agent; when the token says only one try is left the agent refuses to try at all.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Where the CA installers put their PKCS#11 drivers (VNPT-CA, Viettel-CA, VGCA, FPT-CA, BKAV-CA… ship Feitian
# ePass2003 / SafeNet eToken / Bit4id tokens), plus OpenSC and SoftHSM. Only the paths that exist are loaded;
# `--module` adds any other.
COMMON_MODULES: tuple[str, ...] = (
    # Windows
    r"C:\Windows\System32\eps2003csp11.dll",  # Feitian ePass2003 (VNPT-CA, Viettel-CA, FPT-CA)
    r"C:\Windows\System32\eTPKCS11.dll",  # SafeNet eToken (VGCA, Viettel-CA)
    r"C:\Windows\System32\ShuttleCsp11_3003.dll",  # ePass3003 (older VNPT-CA tokens)
    r"C:\Windows\System32\bit4xpki.dll",  # Bit4id (BKAV-CA)
    r"C:\Windows\System32\opensc-pkcs11.dll",
    # Linux
    "/usr/lib/libcastle.so.1.0.0",  # Feitian ePass2003 Linux driver
    "/usr/lib/libeTPkcs11.so",  # SafeNet Authentication Client
    "/usr/lib/libshuttle_p11v220.so.1.0.0",  # ePass3003
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/softhsm/libsofthsm2.so",
    # macOS
    "/Library/OpenSC/lib/opensc-pkcs11.so",
    "/usr/local/lib/libcastle.1.0.0.dylib",
)


class TokenError(Exception):
    """Something the person must be told (Vietnamese first, English second) and a stable code."""

    def __init__(self, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(f"{message_vi} ({message_en})")
        self.code, self.message_vi, self.message_en = code, message_vi, message_en


@dataclass(frozen=True)
class TokenCertificate:
    module: str
    token_label: str
    token_serial: str
    label: str
    object_id: bytes
    der: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        from asn1crypto import x509

        cert = x509.Certificate.load(self.der)
        return {
            "sha256": self.sha256,
            "token": self.token_label,
            "label": self.label,
            "subject": cert.subject.human_friendly,
            "issuer": cert.issuer.human_friendly,
            "serial": format(cert.serial_number, "X"),
            "not_after": cert.not_valid_after.isoformat(),
            "certificate": base64.b64encode(self.der).decode("ascii"),
        }


_libs: dict[str, Any] = {}
_libs_lock = threading.Lock()
# a PKCS#11 token runs one login at a time; two popups signing at once must not interleave
token_lock = threading.Lock()


def available_modules(extra: Iterable[str] = (), *, common: bool = True) -> list[str]:
    """The configured modules first, then the common driver paths that exist on this computer."""
    wanted = list(extra) + (list(COMMON_MODULES) if common else [])
    seen: list[str] = []
    for path in wanted:
        real = os.path.realpath(path)
        if os.path.isfile(path) and all(os.path.realpath(s) != real for s in seen):
            seen.append(path)
    return seen


def _lib(path: str) -> Any:
    import pkcs11

    with _libs_lock:
        if path not in _libs:
            _libs[path] = pkcs11.lib(path)
        return _libs[path]


def _tokens(path: str) -> list[Any]:
    from pkcs11 import TokenFlag

    try:
        tokens = [slot.get_token() for slot in _lib(path).get_slots(token_present=True)]
        return [t for t in tokens if t.flags & TokenFlag.TOKEN_INITIALIZED]  # a blank slot is not a token
    except Exception:  # a driver that fails to load or has no reader is "no token here", not an agent failure
        return []


def describe_tokens(modules: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for path in modules:
        for token in _tokens(path):
            out.append(
                {
                    "label": token.label.strip(),
                    "serial": _text(token.serial),
                    "manufacturer": token.manufacturer_id.strip(),
                    "module": os.path.basename(path),
                }
            )
    return out


def _text(value: Any) -> str:
    return (value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)).strip()


def list_certificates(modules: Iterable[str]) -> list[TokenCertificate]:
    """Certificates are public objects on a token: listing them needs no PIN."""
    from pkcs11 import Attribute, ObjectClass

    found: list[TokenCertificate] = []
    for path in modules:
        for token in _tokens(path):
            try:
                with token_lock, token.open() as session:
                    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                        found.append(
                            TokenCertificate(
                                module=path,
                                token_label=token.label.strip(),
                                token_serial=_text(token.serial),
                                label=str(obj[Attribute.LABEL] or ""),
                                object_id=bytes(obj[Attribute.ID] or b""),
                                der=bytes(obj[Attribute.VALUE]),
                            )
                        )
            except Exception:
                continue
    return found


def find_certificate(modules: Iterable[str], sha256: str) -> TokenCertificate:
    for cert in list_certificates(modules):
        if cert.sha256 == sha256:
            return cert
    raise TokenError(
        "certificate_not_on_token",
        "Chứng thư số của yêu cầu ký không có trên USB token đang cắm. Hãy cắm đúng token rồi thử lại.",
        "The request's certificate is not on any token plugged in",
    )


def _token_of(cert: TokenCertificate) -> Any:
    for token in _tokens(cert.module):
        if token.label.strip() == cert.token_label and _text(token.serial) == cert.token_serial:
            return token
    raise TokenError("token_gone", "USB token đã bị rút ra.", "The token was unplugged")


def sign_requests(cert: TokenCertificate, requests: list[dict[str, Any]], pin: str) -> list[dict[str, Any]]:
    """One login, every request signed, one logout: the answers `hoso sign-digest` would write for a batch."""
    from pkcs11 import TokenFlag, exceptions
    from pyhanko.sign.pkcs11 import PKCS11Signer

    from signing import sign_digest
    from signing.errors import SigningError

    if not pin:
        raise TokenError("pin_missing", "Hãy nhập mã PIN của USB token.", "Type the token PIN")
    with token_lock:
        token = _token_of(cert)
        flags = token.flags
        if flags & TokenFlag.USER_PIN_LOCKED:
            raise TokenError(
                "pin_locked",
                "USB token đã bị khóa mã PIN. Hãy liên hệ nhà cung cấp chứng thư số để mở khóa.",
                "The token's PIN is locked; ask your CA to unlock it",
            )
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            raise TokenError(
                "pin_final_try",
                "USB token chỉ còn một lần thử mã PIN: phần mềm này không thử để token không bị khóa. "
                "Hãy đăng nhập token bằng phần mềm của nhà cung cấp chứng thư số trước.",
                "Only one PIN try left: the agent will not risk locking the token",
            )
        try:
            session = token.open(user_pin=pin)
        except (exceptions.PinIncorrect, exceptions.PinInvalid, exceptions.PinLenRange):
            low = bool(token.flags & (TokenFlag.USER_PIN_COUNT_LOW | TokenFlag.USER_PIN_FINAL_TRY))
            raise TokenError(
                "pin_incorrect",
                "Mã PIN không đúng. Chưa hồ sơ nào được ký."
                + (" Token sắp bị khóa: hãy kiểm tra kỹ mã PIN trước khi thử lại." if low else ""),
                "Wrong PIN; nothing was signed",
            ) from None
        except exceptions.PinLocked:
            raise TokenError(
                "pin_locked",
                "USB token đã bị khóa mã PIN. Hãy liên hệ nhà cung cấp chứng thư số để mở khóa.",
                "The token's PIN is locked",
            ) from None
        try:
            signer = PKCS11Signer(
                session, cert_id=cert.object_id, key_id=cert.object_id, other_certs_to_pull=None
            )
            answers = []
            for item in requests:
                answer = sign_digest(item, signer).to_dict()
                if item.get("session_id"):
                    answer["session_id"] = item["session_id"]
                answers.append(answer)
            return answers
        except SigningError as exc:
            raise TokenError("sign_failed", f"Không ký được: {exc}", f"Signing failed: {exc}") from exc
        finally:
            session.close()
