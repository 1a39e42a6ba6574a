"""Signing with a remote-signing account (CSC API v2: VNPT SmartCA, Viettel MySign…): the key stays in the provider's
HSM, the person confirms each signing in the provider's own flow (an OTP, the phone app).

Linking (once): OAuth2 authorisation code with scope ``service``; the credential and its certificate are read, the
certificate is registered to the person through archive.certificates (the same checks as any registration, one
certificate one person), and a `remote_signing_accounts` row binds the credential to it.

Signing (one or many records, one confirmation): a batch of signing sessions is opened with that certificate
(archive.signatures.start_batch), the provider is asked to confirm exactly those hashes (scope ``credential``), its
answer (the SAD) is used for one ``signatures/signHash`` call and dropped, and each signature is checked against the
registered certificate and embedded on its own (finish_batch): one refusal does not stop the others.

The OAuth ``state`` carries what the callback needs, sealed with archive.secrets_box and bound to the person and an
expiry, so a state cannot be forged, replayed by someone else or kept for later.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import zlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import pem
from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.csc import CscProvider, RemoteCredential, RemoteSigningError, sign_requests_remotely

from . import certificates, secrets_box, signatures
from .context import Archive
from .db import utcnow
from .errors import ArchiveError, InvalidInput, NotFound
from .events import record_event
from .models import User, Version
from .remote_signing_models import RemoteSigningAccount
from .settings import RemoteSigningProvider, Settings
from .signing_models import SigningSession

# the redirect URI a school registers at the provider: <base_url> + this (the page hoso/web/pages_remote_signing.py)
CALLBACK_PATH = "/tai-khoan/ky-tu-xa/xong"
MAX_STATE_BYTES = 1024 * 1024  # inflated; a sealed state of 200 sessions is about 8 kB
# the person confirms within minutes; a forgotten tab's state is worthless after that
STATE_TTL_SECONDS = 15 * 60

# a provider's failure (signing.csc codes) → what the person reads, in Vietnamese and English, and the HTTP status
REMOTE_ERRORS: dict[str, tuple[str, str, int]] = {
    "refused": (
        "Nhà cung cấp dịch vụ ký từ xa đã từ chối yêu cầu ký (chưa xác nhận, hoặc xác nhận không khớp)",
        "The remote-signing service refused the request",
        422,
    ),
    "expired": (
        "Xác nhận ký đã hết hạn hoặc đã được dùng: hãy ký lại và xác nhận ngay trên ứng dụng của nhà cung cấp",
        "The signing confirmation expired or was already used",
        422,
    ),
    "unavailable": (
        "Không kết nối được nhà cung cấp dịch vụ ký từ xa; hãy thử lại sau ít phút",
        "The remote-signing service cannot be reached",
        503,
    ),
    "bad_answer": (
        "Nhà cung cấp dịch vụ ký từ xa trả lời không hợp lệ; hãy báo cho quản trị viên",
        "The remote-signing service gave an invalid answer",
        502,
    ),
    "bad_request": (
        "Yêu cầu ký từ xa không hợp lệ",
        "Invalid remote-signing request",
        422,
    ),
    "denied": (
        "Bạn đã từ chối xác nhận tại nhà cung cấp dịch vụ ký từ xa: chưa hồ sơ nào được ký",
        "You declined at the remote-signing service: nothing was signed",
        422,
    ),
}


def remote_error(code: str, detail: str = "") -> ArchiveError:
    vi, en, status = REMOTE_ERRORS.get(code, REMOTE_ERRORS["bad_answer"])
    return ArchiveError(vi, f"{en}: {detail}" if detail else en, code=f"remote_{code}", status=status)


# --- providers -------------------------------------------------------------------------------------------------------
def providers(settings: Settings) -> dict[str, RemoteSigningProvider]:
    return {p.key: p for p in settings.remote_signing_providers}


def provider_name(settings: Settings, key: str) -> str:
    found = providers(settings).get(key)
    return found.name if found is not None else key


def csc_provider(settings: Settings, key: str) -> CscProvider:
    found = providers(settings).get(key)
    if found is None:
        raise NotFound(
            "Nhà cung cấp dịch vụ ký từ xa này chưa được cấu hình trên máy chủ",
            f"No remote-signing provider {key!r} is configured",
            code="remote_provider_unknown",
        )
    return CscProvider(
        found.base_url, found.client_id, found.client_secret.get_secret_value(),
        settings.base_url.rstrip("/") + CALLBACK_PATH,
    )  # fmt: skip


# --- the OAuth state ---------------------------------------------------------------------------------------------------
def seal_state(settings: Settings, user: User, payload: dict[str, Any]) -> str:
    """The state travels in the callback's URL, whose request head the server limits (16 kB): a batch of 200 session
    ids is compressed first."""
    body = payload | {"uid": user.id, "exp": int(time.time()) + STATE_TTL_SECONDS, "n": secrets.token_hex(8)}
    packed = zlib.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), 9)
    return secrets_box.seal(settings, base64.urlsafe_b64encode(packed).decode("ascii"))


def open_state(settings: Settings, user: User, state: str) -> dict[str, Any]:
    """The payload of a state this server sealed for this person and that has not expired; else a bilingual 422."""
    bad = InvalidInput(
        "Liên kết trả về từ nhà cung cấp dịch vụ ký từ xa không hợp lệ hoặc không phải của bạn; hãy làm lại từ đầu",
        "The remote-signing callback state is invalid or not yours",
        code="remote_state_invalid",
    )
    if not secrets_box.is_sealed(state):  # unseal would take an unsealed value as legacy plaintext
        raise bad
    try:
        inflate = zlib.decompressobj()
        packed = base64.urlsafe_b64decode(secrets_box.unseal(settings, state))
        body = json.loads(inflate.decompress(packed, MAX_STATE_BYTES))
    except (secrets_box.SecretKeyError, ValueError, zlib.error):
        raise bad from None
    if not isinstance(body, dict) or body.get("uid") != user.id:
        raise bad
    if int(body.get("exp", 0)) < time.time():
        raise InvalidInput(
            "Đã quá thời gian xác nhận (15 phút); hãy làm lại từ đầu",
            "The remote-signing confirmation took too long; start again",
            code="remote_state_expired",
        )
    return body


# --- accounts ----------------------------------------------------------------------------------------------------------
def accounts_of(session: Session, user: User) -> list[RemoteSigningAccount]:
    return list(
        session.scalars(
            select(RemoteSigningAccount)
            .where(RemoteSigningAccount.user_id == user.id)
            .order_by(RemoteSigningAccount.linked_at.desc(), RemoteSigningAccount.id.desc())
        )
    )


def own_account(session: Session, user: User, account_id: int) -> RemoteSigningAccount:
    row = session.get(RemoteSigningAccount, account_id)
    if row is None or row.user_id != user.id:
        raise NotFound(
            "Không tìm thấy tài khoản ký từ xa này trong tài khoản của bạn",
            f"No remote-signing account {account_id} of yours",
            code="remote_account_not_found",
        )
    return row


def link_url(archive: Archive, user: User, provider_key: str) -> str:
    """Where the person goes to let hoso read her credential (scope service)."""
    provider = csc_provider(archive.settings, provider_key)
    state = seal_state(archive.settings, user, {"p": "link", "pv": provider_key})
    return provider.authorize_url(state=state)


def _pem_bundle(credential: RemoteCredential) -> bytes:
    return b"".join(pem.armor("CERTIFICATE", der) for der in (credential.certificate, *credential.chain))


def finish_link(
    archive: Archive, user: User, payload: dict[str, Any], code: str
) -> list[RemoteSigningAccount]:
    """Read the credentials with the code's service token, register each certificate to the person, bind them."""
    key = str(payload.get("pv", ""))
    provider = csc_provider(archive.settings, key)
    try:
        credentials = provider.credentials(provider.exchange_code(code))
    except RemoteSigningError as exc:
        raise _recorded(
            archive, user, "remote_signing.refused", exc, {"provider": key, "step": "link"}
        ) from None
    if not credentials:
        raise InvalidInput(
            "Tài khoản ký từ xa này chưa có chứng thư số nào", "The account holds no credential",
            code="remote_no_credential",
        )  # fmt: skip
    setup = signatures.setup_of(archive)
    linked = []
    for credential in credentials:
        with archive.sessions() as session:
            owner = session.merge(user, load=True)
            cert = certificates.registered_certificate(session, owner.id, credential.certificate)
            if cert is None:  # checked and registered like any certificate (refusals are recorded there)
                cert = certificates.register_certificate(
                    session, setup, actor=owner, owner=owner, data=_pem_bundle(credential)
                )
            cert_id, cert_sha, holder = cert.id, cert.sha256, certificates.holder_name(cert)
            session.commit()
            with session.begin():
                owner = session.merge(user, load=True)
                row = session.scalar(
                    select(RemoteSigningAccount).where(
                        RemoteSigningAccount.user_id == owner.id,
                        RemoteSigningAccount.provider == key,
                        RemoteSigningAccount.credential_id == credential.credential_id,
                    )
                ) or RemoteSigningAccount(
                    user_id=owner.id, provider=key, credential_id=credential.credential_id
                )
                row.key_algorithm = credential.key_algorithm[:64]
                row.certificate_id = cert_id
                row.certificate_sha256 = cert_sha
                row.chain = ",".join(base64.b64encode(c).decode("ascii") for c in credential.chain)
                row.label = f"{provider_name(archive.settings, key)} · {holder}"[:300]
                row.linked_at = utcnow()
                session.add(row)
                session.flush()
                record_event(
                    session, "remote_signing.link", actor=owner, organisation_id=owner.organisation_id,
                    detail={"provider": key, "credential": credential.credential_id, "account": row.id,
                            "sha256": cert_sha},
                )  # fmt: skip
                session.expunge(row)
                linked.append(row)
    return linked


def unlink(archive: Archive, user: User, account_id: int) -> None:
    """Forget the binding; the certificate stays registered (past signatures keep whose it was) until removed."""
    with archive.sessions() as session, session.begin():
        owner = session.merge(user, load=True)
        row = own_account(session, owner, account_id)
        record_event(
            session, "remote_signing.unlink", actor=owner, organisation_id=owner.organisation_id,
            detail={"provider": row.provider, "credential": row.credential_id, "account": row.id},
        )  # fmt: skip
        session.delete(row)


def _recorded(
    archive: Archive, user: User, action: str, exc: RemoteSigningError, detail: dict[str, Any]
) -> ArchiveError:
    err = remote_error(exc.code, str(exc))
    with archive.sessions() as session, session.begin():
        who = session.merge(user, load=True)
        record_event(
            session, action, actor=who, organisation_id=who.organisation_id, outcome="error",
            detail=detail | {"error": err.code, "reason": str(exc)[:300]},
        )  # fmt: skip
    return err


# --- signing -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteBatch:
    """A batch waiting for the person's confirmation at the provider."""

    authorize_url: str | None  # None: nothing could be prepared (every record refused)
    provider: str
    items: list[signatures.BatchItem]


def start_signing(archive: Archive, user: User, account_id: int, doc_ids: list[str]) -> RemoteBatch:
    """Open a signing session per record with the account's certificate and the provider's confirmation URL for
    exactly their hashes. Records that cannot be signed now (not your turn, no right…) are reported, not fatal."""
    with archive.sessions() as session:
        account = own_account(session, user, account_id)
        der, chain, key = bytes(account.certificate.der), account.chain, account.provider
        credential_id = account.credential_id
        if account.certificate.removed_at is not None:
            raise InvalidInput(
                "Chứng thư số của tài khoản ký từ xa này đã bị gỡ khỏi tài khoản của bạn; hãy liên kết lại",
                "The account's certificate was removed from your account; link it again",
                code="certificate_not_yours",
            )
    provider = csc_provider(archive.settings, key)
    chain_ders = [base64.b64decode(c) for c in chain.split(",") if c]
    items = signatures.start_batch(archive, doc_ids, certificate=der, chain=chain_ders or None, actor=user)
    started = [i.started for i in items if i.started is not None]
    if not started:
        return RemoteBatch(None, key, items)
    refused = [[i.document_id, i.error.code, i.error.message_vi] for i in items if i.error is not None]
    state = seal_state(
        archive.settings, user, {"p": "sign", "a": account_id, "s": [s.id for s in started], "r": refused}
    )
    hashes = [base64.b64decode(s.request["digest"]) for s in started]
    return RemoteBatch(
        provider.authorize_url(state=state, credential_id=credential_id, hashes=hashes), key, items
    )


def finish_signing(
    archive: Archive, user: User, payload: dict[str, Any], *, code: str | None, error: str | None
) -> list[signatures.BatchItem]:
    """Back from the provider: exchange the code for the SAD, one signHash for every session, embed each signature.
    Every record of the batch is in the answer, signed or with its reason; sessions that failed are closed.
    Coming back twice (a reload) reports what happened the first time and signs nothing again."""
    session_ids = [str(s) for s in payload.get("s", [])]
    refused_before = [
        signatures.BatchItem(str(d), error=ArchiveError(str(vi), str(vi), code=str(c)))
        for d, c, vi in payload.get("r", [])
    ]
    rows = [signatures.pending_session(archive, sid) for sid in session_ids]
    for row in rows:
        signatures.authorize_session_owner(archive, user, row)
    pending = [r for r in rows if r.status == "pending"]
    if not pending:
        return refused_before + [_outcome(archive, r) for r in rows]
    with archive.sessions() as session:
        account = own_account(session, user, int(payload.get("a", 0)))
        key = account.provider
        credential = RemoteCredential(
            account.credential_id, bytes(account.certificate.der), key_algorithm=account.key_algorithm
        )
    provider = csc_provider(archive.settings, key)
    detail = {"provider": key, "credential": credential.credential_id, "sessions": len(pending)}
    try:
        if error or not code:
            raise RemoteSigningError("denied" if error == "access_denied" else "refused", error or "no code")
        sad = provider.exchange_code(code)
        requests = [json.loads(r.request) | {"session_id": r.id} for r in pending]
        answers = sign_requests_remotely(provider, sad, credential, requests)
        del sad  # used for this one signHash; never stored
    except RemoteSigningError as exc:
        err = _recorded(archive, user, "remote_signing.refused", exc, detail)
        items = [signatures.BatchItem(r.document_id, error=err) for r in pending]
    else:
        items = signatures.finish_batch(archive, answers, actor=user)
    _close_failed(archive, items, pending)
    signed = sum(1 for i in items if i.version is not None)
    with archive.sessions() as session, session.begin():
        who = session.merge(user, load=True)
        record_event(
            session, "remote_signing.sign", actor=who, organisation_id=who.organisation_id,
            outcome="ok" if signed == len(items) else "error",
            detail=detail | {"signed": signed, "refused": len(items) - signed},
        )  # fmt: skip
    done = {r.document_id for r in rows if r.status != "pending"}  # finished on an earlier visit
    earlier = [_outcome(archive, r) for r in rows if r.document_id in done]
    return refused_before + earlier + items


def _close_failed(archive: Archive, items: list[signatures.BatchItem], pending: list[SigningSession]) -> None:
    by_doc = {r.document_id: r.id for r in pending}
    with archive.sessions() as session, session.begin():
        for item in items:
            if item.error is None or item.document_id not in by_doc:
                continue
            row = session.get(SigningSession, by_doc[item.document_id])
            if row is not None and row.status == "pending":
                row.status = "failed"
                row.error = item.error.message_vi[:1000]
                row.completed_at = utcnow()


def _outcome(archive: Archive, row: SigningSession) -> signatures.BatchItem:
    """What became of a session on an earlier visit: its signed version, or why it closed."""
    if row.status == "completed" and row.result_version:
        with archive.sessions() as session:
            version = session.scalar(
                select(Version).where(
                    Version.document_id == row.document_id, Version.number == row.result_version
                )
            )
            if version is not None:
                session.expunge(version)
                return signatures.BatchItem(row.document_id, version=version)
    reason = row.error or f"Phiên ký đã đóng ({row.status})"
    return signatures.BatchItem(
        row.document_id, error=ArchiveError(reason, reason, code="remote_session_closed")
    )
