"""Small secrets kept in the catalog (TOTP secrets) are encrypted with a key that is *not* in the catalog.

A database dump or backup must not be enough to generate someone's one-time codes, so the key comes from
`HOSO_SECRET_KEY` (a Fernet key: urlsafe base64 of 32 bytes) or, when that is unset, from `<data_dir>/secret.key`.

- Development: the key file is created on first use (mode 0600, atomically; never overwritten — overwriting it would
  make every stored secret unreadable).
- Production: nothing is generated. The data folder may be shared with replicas, backups or other services, and a key
  created silently next to the catalog is easy to back up together with it, which defeats the purpose. The operator
  sets `HOSO_SECRET_KEY` or puts a key file there on purpose; otherwise login and TOTP refuse with a clear message.

Stored values are `fernet:<token>`. A value without the prefix is a legacy plaintext secret (written before this
module existed): it is still read, and archive.auth re-encrypts it the next time it is used.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from .errors import ArchiveError
from .settings import Settings

PREFIX = "fernet:"
KEY_FILE = "secret.key"
# archive.context.build_archive puts the Settings in every ORM session's `info` under this name, so functions that
# receive only a session (enrol_totp, verify_totp …) find the key without every caller passing settings along
SESSION_INFO_KEY = "hoso.settings"


class SecretKeyError(ArchiveError):
    """The server cannot encrypt or decrypt stored secrets: a configuration problem, not the caller's fault."""

    status = 503
    code = "secret_key_unavailable"


def settings_of(session: Session | None) -> Settings | None:
    if session is None:
        return None
    found = session.info.get(SESSION_INFO_KEY)
    return found if isinstance(found, Settings) else None


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def _fernet(key: bytes, where: str) -> Fernet:
    try:
        return Fernet(key)
    except ValueError as exc:  # wrong length or not urlsafe base64
        raise SecretKeyError(
            f"Khóa bí mật ({where}) không hợp lệ: cần khóa Fernet (base64 an toàn URL của 32 byte)",
            f"The secret key ({where}) is invalid: a Fernet key (urlsafe base64 of 32 bytes) is required",
        ) from exc


def _create_key_file(path: Path) -> None:
    """Write a new key so that no reader ever sees a partial file and an existing key is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret.key.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if another process created the key first: theirs wins
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def fernet_for(settings: Settings) -> Fernet:
    """The key's Fernet, or SecretKeyError (bilingual) when no usable key exists."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        return _fernet(settings.secret_key.get_secret_value().strip().encode(), "HOSO_SECRET_KEY")
    path = key_file(settings)
    if not path.exists():
        if settings.environment == "production":
            raise SecretKeyError(
                "Chưa cấu hình khóa mã hóa bí mật: đặt HOSO_SECRET_KEY (khóa Fernet) hoặc tạo tệp "
                f"{path} (quyền 0600); ở môi trường production hoso không tự tạo khóa",
                "No secret encryption key: set HOSO_SECRET_KEY (a Fernet key) or create "
                f"{path} (mode 0600); in production hoso does not generate one",
            )
        _create_key_file(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(
            f"Không đọc được tệp khóa bí mật {path}: {exc.strerror}",
            f"Cannot read the secret key file {path}: {exc.strerror}",
        ) from exc
    return _fernet(key, str(path))


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(settings: Settings, plaintext: str) -> str:
    return PREFIX + fernet_for(settings).encrypt(plaintext.encode()).decode()


def unseal(settings: Settings | None, stored: str) -> str:
    """The plaintext of a stored value; a legacy value without the prefix is returned as it is."""
    if not is_sealed(stored):
        return stored
    if settings is None:
        raise SecretKeyError(
            "Không có cấu hình để giải mã bí mật đã lưu",
            "No settings available to decrypt a stored secret",
        )
    try:
        return fernet_for(settings).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        # the usual cause: HOSO_SECRET_KEY or secret.key was replaced after secrets were stored with the old key
        raise SecretKeyError(
            "Không giải mã được bí mật đã lưu: khóa bí mật (HOSO_SECRET_KEY / secret.key) không phải khóa đã "
            "dùng để mã hóa",
            "Cannot decrypt a stored secret: the secret key (HOSO_SECRET_KEY / secret.key) is not the key it was "
            "encrypted with",
            code="secret_key_mismatch",
        ) from exc
