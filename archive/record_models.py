"""The history of a record's details (migration 0009): each edit of title, class, subject, teacher or type before the
lock is one row per field changed, with who, when and why. Versions keep the history of the file itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import utcnow
from .models import Base, User

EDITABLE = ("title", "class_name", "subject", "teacher", "type_code")


class DocumentChange(Base):
    __tablename__ = "document_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(500))
    new_value: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(500), default="")
    event_id: Mapped[int | None] = mapped_column(Integer)  # the document.edit event that recorded it

    changed_by: Mapped[User | None] = relationship()
