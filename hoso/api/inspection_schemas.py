"""Response bodies of the inspection API (kept apart from hoso/api/schemas.py: one feature, one module)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hoso.api.schemas import Timestamp
from retention.inspection import PackageSummary
from retention.inspection_mail import Delivery


class PackageFile(BaseModel):
    name: str
    kind: str  # document / report
    document_id: str | None
    version: int | None
    sha256: str
    size: int


class PackageOut(BaseModel):
    id: str
    created_at: Timestamp
    created_by: str
    documents: int
    zip_size: int
    filename: str
    report_sha256: str
    selection: dict[str, Any]
    files: list[PackageFile] | None = None

    @classmethod
    def of(cls, pkg: PackageSummary, *, files: bool = True) -> PackageOut:
        return cls(
            id=pkg.id,
            created_at=pkg.created_at.isoformat(),
            created_by=pkg.actor,
            documents=pkg.documents,
            zip_size=pkg.zip_size,
            filename=pkg.filename,
            report_sha256=pkg.report_sha256,
            selection=pkg.selection,
            files=[
                PackageFile.model_validate({k: f.get(k) for k in PackageFile.model_fields}) for f in pkg.files
            ]
            if files
            else None,
        )


class DeliveryOut(BaseModel):
    package_id: str
    to: str
    parts: int
    part_size: int
    zip_size: int
    message_sizes: list[int]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            package_id=d.package_id,
            to=d.to,
            parts=d.parts,
            part_size=d.part_size,
            zip_size=d.zip_size,
            message_sizes=list(d.message_sizes),
        )
