"""The tables, as Python classes: one class per table, one object per row."""

from datetime import datetime
from typing import Any, ClassVar

from database import Base
from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column


class Note(Base):
    __tablename__ = "notes"
    # An id is never given out twice, not even after its note was deleted.
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO 2: text, a string of at most 500 characters: mapped_column(String(500)).
    # TODO 2: created_at, a datetime the database fills in: mapped_column(server_default=func.now()).
