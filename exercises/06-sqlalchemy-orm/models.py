"""The tables, as Python classes: one class per table, one object per row."""

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from database import Base


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = {"sqlite_autoincrement": True}  # an id is never given out twice

    id: Mapped[int] = mapped_column(primary_key=True)
    # TODO 2: text, a string of at most 500 characters: mapped_column(String(500)).
    # TODO 2: created_at, a datetime the database fills in: mapped_column(server_default=func.now()).
