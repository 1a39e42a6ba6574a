"""One typed Settings object, read from HOSO_* environment variables and optionally ./hoso.toml.

Nothing reads the environment at import time: call `Settings()` (or `load_settings()`) in an entry point.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MB = 1024 * 1024


class RemoteSigningProvider(BaseModel):
    """A remote-signing service (CSC API v2: VNPT SmartCA, Viettel MySign…) where hoso is a registered OAuth2 client.
    Its redirect URI there is <base_url>/tai-khoan/ky-tu-xa/xong."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")  # stored with each linked account: never rename it
    name: str = Field(min_length=1, max_length=100)  # what people see, e.g. "VNPT SmartCA"
    base_url: str = Field(pattern=r"^https?://")  # …/csc/v2 and …/oauth2 are below it
    client_id: str = Field(min_length=1)
    client_secret: SecretStr


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOSO_", extra="ignore", toml_file="hoso.toml")

    # where everything local lives (SQLite file, replica folders, temp spool, dev PKI)
    data_dir: Path = Path("./var")
    # SQLAlchemy URL; default sqlite:///<data_dir>/hoso.sqlite3; PostgreSQL as postgresql+psycopg://user@host/db
    database_url: str | None = None
    # PostgreSQL connections each process keeps open (and half as many again at a peak): a download or a list page
    # runs in one of the server's 40 threads and takes a connection for each of its steps; with SQLAlchemy's 5 kept,
    # connections were opened and closed for requests under load (py-spy, downloads with 50 clients). Each app and
    # worker process has its own: PostgreSQL's max_connections must hold their sum (deploy/compose.yaml sets 300)
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # comma-separated store URLs; default three folders under <data_dir>/replicas
    replicas: list[str] | str | None = None
    # how many verified copies an upload needs before it is acknowledged (default: all)
    min_replicas: int | None = None
    max_upload_bytes: int = Field(default=200 * MB, ge=1)
    # unsigned PDFs that do not claim PDF/A are rewritten to PDF/A-2b by Ghostscript at upload, the upload kept beside
    # the PDF/A as its original (archive/pdfa_normalise.py)
    pdfa_normalise: bool = True
    # every other request body (JSON, forms, certificates, CSV imports) is far smaller than an upload
    max_request_bytes: int = Field(default=2 * MB, ge=1024)
    # a body that stops arriving for this long, or arrives slower than body_min_rate_bytes per second on average
    # once body_rate_grace_seconds have passed, is cut off (408): a trickling client must not hold a worker for ever
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    body_min_rate_bytes: int = Field(default=1024, ge=0)
    body_rate_grace_seconds: float = Field(default=30.0, ge=0)
    # "development" allows the built-in test PKI; "production" refuses it
    environment: Literal["development", "production"] = "development"
    # public base URL (used in links of the dev PKI's certificates and e-mails)
    base_url: str = "http://127.0.0.1:8000"
    api_token_ttl_days: int = 365
    session_ttl_hours: int = 12
    # web session cookies: Secure unless said otherwise; None = Secure except when base_url is plain http on
    # 127.0.0.1/localhost (development), where a Secure cookie would never come back
    cookie_secure: bool | None = None
    cookie_samesite: Literal["lax", "strict"] = "lax"
    # login throttling (stored in the database: shared by every worker, survives restarts). Per IP is looser than per
    # account because a whole school often reaches us through one NAT address.
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 20
    login_lockout_minutes: int = 15
    # Fernet key (urlsafe base64 of 32 bytes) encrypting TOTP secrets in the catalog, so a database dump alone cannot
    # generate codes; unset = <data_dir>/secret.key (created on first use in development, required in production)
    secret_key: SecretStr | None = None
    # reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed; from anyone else the header is ignored,
    # otherwise a client could pick the address that login throttling and the audit trail see
    trusted_proxies: list[str] | str = Field(default_factory=list)
    # X-Accel-Redirect (nginx) for downloads from folder replicas: once hoso has authorised the request, verified the
    # copy's digest and committed the download's event, the reverse proxy sends the file itself from
    # <prefix><absolute path of the copy> (an `internal` location; deploy/nginx/hoso.conf). Empty: hoso sends it.
    download_accel_prefix: str = Field(default="", pattern=r"^$|^(/[A-Za-z0-9_.-]+)+$")

    # signing
    tsa_url: str | None = None  # RFC 3161 TSA; on embedded defaults the dev PKI's own
    trust_roots: list[Path] | str = Field(default_factory=list)  # certificates or folders of them
    signing_p12: Path | None = None  # the organisation's server-held key (PKCS#12)
    signing_p12_password: str | None = None
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_pin: str | None = None
    default_signature_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = None
    # where the signing pages look for hoso-signer on the signer's own computer (`hoso signer-agent --port`)
    signer_agent_url: str = "http://127.0.0.1:8765"
    # remote-signing services people may link their account to, as JSON in HOSO_REMOTE_SIGNING_PROVIDERS:
    # [{"key": "vnpt-smartca", "name": "VNPT SmartCA", "base_url": "https://…", "client_id": "…",
    #   "client_secret": "…"}] (or [[remote_signing_providers]] tables in hoso.toml); none = the feature is off
    remote_signing_providers: list[RemoteSigningProvider] = Field(default_factory=list)

    # integrity and retention
    fixity_full_period_days: int = 90
    fixity_light_interval_hours: int = 24
    fixity_retries: int = 2
    lta_renewal_margin_days: int = 365
    scheduler_enabled: bool = True
    log_format: Literal["json", "text"] = (
        "json"  # `hoso serve` / `hoso worker` logs: one JSON object a line, or text
    )
    # test-only: kill the process at a named point of the write path (see archive/ingest.py)
    fault_inject: str | None = None

    # alerts
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "hoso@localhost"
    alert_emails: list[str] | str = Field(default_factory=list)
    # an inspection package e-mailed as attachments is cut into numbered messages no larger than this (whole message)
    inspection_mail_max_bytes: int = Field(default=20_000_000, ge=100_000)

    @field_validator("replicas", "alert_emails", mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, v: Any) -> Any:
        items = [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v
        for item in items or []:
            ipaddress.ip_network(item, strict=False)  # a typo fails at startup, not silently per request
        return items

    @field_validator("trust_roots", mode="before")
    @classmethod
    def _split_paths(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [Path(p.strip()) for p in v.replace(os.pathsep, ",").split(",") if p.strip()]
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # resolved values
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hoso.sqlite3').resolve()}"

    @property
    def replica_urls(self) -> list[str]:
        if self.replicas:
            assert isinstance(self.replicas, list)
            return self.replicas
        base = (self.data_dir / "replicas").resolve()
        # as_uri() percent-encodes '?', '#' and '%' that a plain f-string would let the URL parser misread
        return [(base / name).as_uri() for name in ("copy1", "copy2", "copy3")]

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        dev = ("http://127.0.0.1", "http://localhost", "http://[::1]")
        return not any(self.base_url.startswith(p) for p in dev)

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        items = self.trusted_proxies if isinstance(self.trusted_proxies, list) else []
        return [ipaddress.ip_network(p, strict=False) for p in items]

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def trust_root_paths(self) -> list[Path]:
        return list(self.trust_roots) if isinstance(self.trust_roots, list) else []
