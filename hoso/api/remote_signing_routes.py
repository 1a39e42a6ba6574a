"""Remote signing through a CSC API v2 provider for API clients (the pages are hoso/web/pages_remote_signing.py).

Both flows end in the person's browser at the provider, which sends it back to the web callback
(archive.remote_signing.CALLBACK_PATH); a client that catches that redirect itself hands its `code`/`error` and
`state` to POST /me/remote-signing/callback instead. Every route acts on the caller's own account only, and a token
must carry a signing scope for anything that changes state.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from archive import remote_signing, signatures
from archive.context import Archive
from archive.permissions import authorize_scope, effective_scopes, scope_allows
from archive.remote_signing_models import RemoteSigningAccount
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.schemas import Timestamp

router = APIRouter(tags=["signing"])
MAX_DOCUMENTS = 200  # the CSC API's and the inbox's limit for one confirmation


class ProviderOut(BaseModel):
    key: str
    name: str


class RemoteAccountOut(BaseModel):
    id: int
    provider: str = Field(description="The provider's key in the server's settings")
    provider_name: str
    credential_id: str = Field(description="The credential at the provider")
    label: str
    certificate_id: int = Field(description="The certificate linking registered to the person")
    certificate_sha256: str
    linked_at: Timestamp

    @classmethod
    def of(cls, archive: Archive, row: RemoteSigningAccount) -> RemoteAccountOut:
        return cls(
            id=row.id, provider=row.provider, provider_name=remote_signing.provider_name(archive.settings, row.provider),
            credential_id=row.credential_id, label=row.label, certificate_id=row.certificate_id,
            certificate_sha256=row.certificate_sha256, linked_at=row.linked_at.isoformat(),
        )  # fmt: skip


class RemoteSigningOut(BaseModel):
    providers: list[ProviderOut] = Field(description="The providers configured on this server")
    accounts: list[RemoteAccountOut] = Field(description="My linked accounts, newest first")


class LinkIn(BaseModel):
    provider: str = Field(max_length=40, description="A provider key from GET /me/remote-signing")


class AuthorizeOut(BaseModel):
    authorize_url: str = Field(description="Where the person confirms, at the provider (valid 15 minutes)")


class SignIn(BaseModel):
    account_id: int
    document_ids: list[str] = Field(min_length=1, max_length=MAX_DOCUMENTS)


class ItemOut(BaseModel):
    document_id: str
    version: int | None = Field(description="The signed version; None when not signed")
    error: str | None = Field(description="Why not signed (stable code)")
    message: str | None = Field(description="Why not signed, in Vietnamese")

    @classmethod
    def of(cls, item: signatures.BatchItem) -> ItemOut:
        err = item.error
        return cls(
            document_id=item.document_id, version=item.version.number if item.version else None,
            error=err.code if err else None, message=err.message_vi if err else None,
        )  # fmt: skip


class SignStartOut(BaseModel):
    authorize_url: str | None = Field(description="Where to confirm; None when no record could be prepared")
    sessions: list[str] = Field(description="The signing sessions waiting for the confirmation")
    refused: list[ItemOut] = Field(description="Records left out, with why")


class CallbackIn(BaseModel):
    state: str = Field(max_length=20_000)
    code: str | None = Field(default=None, max_length=2000)
    error: str | None = Field(default=None, max_length=100)


class CallbackOut(BaseModel):
    linked: list[RemoteAccountOut] = Field(description="Accounts linked (a link callback)")
    items: list[ItemOut] = Field(
        description="Each record of the batch, signed or why not (a signing callback)"
    )


def _may_sign(archive: Archive, guard: Guard) -> None:
    """A token narrowed to anything but signing changes nothing here (refused and recorded)."""
    with archive.sessions() as session, session.begin():
        user = session.merge(guard.user)
        scopes = effective_scopes(user, guard.scopes)
        if scopes is None or scope_allows(scopes, "document.sign_own"):
            return
        authorize_scope(session, user, "document.sign", scopes)


@router.get("/me/remote-signing", summary="Remote-signing providers of this server and my linked accounts")
def overview(guard: GuardDep, archive: ArchiveDep) -> RemoteSigningOut:
    with archive.sessions() as session:
        rows = remote_signing.accounts_of(session, session.merge(guard.user))
        accounts = [RemoteAccountOut.of(archive, r) for r in rows]
    providers = [ProviderOut(key=p.key, name=p.name) for p in archive.settings.remote_signing_providers]
    return RemoteSigningOut(providers=providers, accounts=accounts)


@router.post(
    "/me/remote-signing/links",
    summary="Start linking an account at a provider (OAuth2 scope service): the URL to open in the browser",
    responses={404: {"description": "remote_provider_unknown"}},
)
def link(body: LinkIn, guard: GuardDep, archive: ArchiveDep) -> AuthorizeOut:
    _may_sign(archive, guard)
    return AuthorizeOut(authorize_url=remote_signing.link_url(archive, guard.user, body.provider))


@router.delete(
    "/me/remote-signing/accounts/{account_id}",
    status_code=204,
    summary="Unlink an account (its certificate stays registered until removed)",
    responses={404: {"description": "remote_account_not_found"}},
)
def unlink(account_id: int, guard: GuardDep, archive: ArchiveDep) -> Response:
    _may_sign(archive, guard)
    remote_signing.unlink(archive, guard.user, account_id)
    return Response(status_code=204)


@router.post(
    "/me/remote-signing/signatures",
    summary="Prepare records for signing with a linked account: one confirmation URL for all of them",
    responses={404: {"description": "remote_account_not_found, remote_provider_unknown"}},
)
def sign(body: SignIn, guard: GuardDep, archive: ArchiveDep) -> SignStartOut:
    _may_sign(archive, guard)
    batch = remote_signing.start_signing(archive, guard.user, body.account_id, body.document_ids)
    return SignStartOut(
        authorize_url=batch.authorize_url,
        sessions=[i.started.id for i in batch.items if i.started is not None],
        refused=[ItemOut.of(i) for i in batch.items if i.error is not None],
    )


@router.post(
    "/me/remote-signing/callback",
    summary="Finish a link or a signing with the provider's answer (code or error, and state)",
    responses={
        422: {"description": "remote_state_invalid, remote_state_expired, remote_refused, remote_denied, "
              "certificate_* (linking)"},
        409: {"description": "certificate_taken (linking)"},
        503: {"description": "remote_unavailable"},
    },
)  # fmt: skip
def callback(body: CallbackIn, guard: GuardDep, archive: ArchiveDep) -> CallbackOut:
    _may_sign(archive, guard)
    payload = remote_signing.open_state(archive.settings, guard.user, body.state)
    if payload.get("p") == "sign":
        items = remote_signing.finish_signing(archive, guard.user, payload, code=body.code, error=body.error)
        return CallbackOut(linked=[], items=[ItemOut.of(i) for i in items])
    if body.error or not body.code:
        raise remote_signing.remote_error(
            "denied" if body.error == "access_denied" else "refused", body.error or ""
        )
    rows = remote_signing.finish_link(archive, guard.user, payload, body.code)
    return CallbackOut(linked=[RemoteAccountOut.of(archive, r) for r in rows], items=[])
