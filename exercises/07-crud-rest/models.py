"""The tables, as Python classes: one class per table, one object per row."""

from datetime import datetime
from typing import Any, ClassVar

from database import Base
from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column


class Note(Base):
    __tablename__ = "notes"
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    # TODO 1: pinned, a bool that is False unless the client says otherwise:
    #         mapped_column(default=False, server_default=false()), with `false` from sqlalchemy.
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
