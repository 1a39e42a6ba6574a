"""Where a signing key lives: a PKCS#12 file, or a PKCS#11 token/HSM.

The configs are plain frozen dataclasses so the archive can build them from settings; ``load_signer`` turns one into a
pyHanko signer and keeps it (parsing a PKCS#12 file or logging in to a token for every document is slow).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509
from pyhanko.sign import signers

from .errors import SignerUnavailable
from .trust import load_certificates


@dataclass(frozen=True)
class Pkcs12Signer:
    """A PKCS#12 (.p12/.pfx) file holding the key, its certificate and usually the chain."""

    path: str
    password: bytes | None = field(default=None, repr=False)
    chain_paths: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, path: str | os.PathLike[str], password_env: str) -> Pkcs12Signer:
        value = os.environ.get(password_env)
        if value is None:
            raise SignerUnavailable(f"environment variable {password_env} (PKCS#12 password) is not set")
        return cls(str(path), value.encode())


@dataclass(frozen=True)
class Pkcs11Signer:
    """A key on a PKCS#11 token or HSM, chosen by token label and key label (slots get renumbered)."""

    module_path: str
    token_label: str
    key_label: str
    pin: str | None = field(default=None, repr=False)
    cert_label: str | None = None
    chain_paths: tuple[str, ...] = ()


SignerConfig = Pkcs12Signer | Pkcs11Signer

_cache: dict[Any, signers.Signer] = {}
_sessions: dict[Any, Any] = {}
_session_locks: dict[int, threading.Lock] = {}
_lock = threading.Lock()


def signer_lock(pyhanko_signer: signers.Signer) -> contextlib.AbstractContextManager[Any]:
    """A PKCS#11 session runs one operation at a time (C_SignInit/C_Sign): serialise use of a shared session."""
    session = getattr(pyhanko_signer, "pkcs11_session", None)
    if session is None:
        return contextlib.nullcontext()
    with _lock:
        return _session_locks.setdefault(id(session), threading.Lock())


def load_signer(config: SignerConfig | signers.Signer) -> signers.Signer:
    """A pyHanko signer for ``config`` (already-built pyHanko signers are passed through)."""
    if isinstance(config, signers.Signer):
        return config
    with _lock:
        key: Any
        if isinstance(config, Pkcs12Signer):
            try:
                key = (config, os.stat(config.path).st_mtime_ns)
            except OSError as exc:
                raise SignerUnavailable(f"cannot read PKCS#12 file {config.path}: {exc.strerror}") from exc
        else:
            key = config
        signer = _cache.get(key)
        if signer is None:
            signer = _load_pkcs12(config) if isinstance(config, Pkcs12Signer) else _load_pkcs11(config)
            _cache[key] = signer
        return signer


def _load_pkcs12(config: Pkcs12Signer) -> signers.Signer:
    try:
        data = Path(config.path).read_bytes()
    except OSError as exc:
        raise SignerUnavailable(f"cannot read PKCS#12 file {config.path}: {exc.strerror}") from exc
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        pkcs12.load_key_and_certificates(data, config.password)
    except ValueError as exc:
        raise SignerUnavailable(
            f"cannot open PKCS#12 file {config.path}: wrong password or damaged file"
        ) from exc
    signer = signers.SimpleSigner.load_pkcs12_data(
        data, other_certs=load_certificates(config.chain_paths), passphrase=config.password
    )
    if signer is None or signer.signing_cert is None:
        raise SignerUnavailable(f"PKCS#12 file {config.path} holds no usable key and certificate")
    return signer


def _load_pkcs11(config: Pkcs11Signer) -> signers.Signer:
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11

    session_key = (config.module_path, config.token_label, config.pin)
    session = _sessions.get(session_key)
    if session is None:
        try:
            session = pkcs11.open_pkcs11_session(
                config.module_path,
                token_criteria=TokenCriteria(label=config.token_label),
                user_pin=config.pin,
            )
        except (
            Exception
        ) as exc:  # python-pkcs11 raises many unrelated types (PinIncorrect, NoSuchToken, OSError…)
            raise SignerUnavailable(
                f"cannot open PKCS#11 token {config.token_label!r} with {config.module_path}: "
                f"{type(exc).__name__} {exc}".strip()
            ) from exc
        _sessions[session_key] = session
    signer = pkcs11.PKCS11Signer(
        session,
        key_label=config.key_label,
        cert_label=config.cert_label or config.key_label,
        ca_chain=load_certificates(config.chain_paths),
        other_certs_to_pull=None,
    )
    try:
        # loading here, not at first signature, so a wrong label is reported as such
        from ._runtime import run_sync

        run_sync(signer.ensure_objects_loaded())
    except Exception as exc:
        raise SignerUnavailable(
            f"key or certificate {config.key_label!r} not found on PKCS#11 token {config.token_label!r}: {exc}"
        ) from exc
    return signer


def signing_certificate(config: SignerConfig | signers.Signer) -> x509.Certificate:
    cert = load_signer(config).signing_cert
    if cert is None:
        raise SignerUnavailable("the signer has no certificate")
    return cert


def close_signers() -> None:
    """Forget cached signers and log out of PKCS#11 sessions (tests, shutdown)."""
    with _lock:
        _cache.clear()
        for session in _sessions.values():
            try:
                session.close()
            except Exception:
                pass
        _sessions.clear()
