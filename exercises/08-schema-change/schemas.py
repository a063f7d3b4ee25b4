"""What the API accepts and answers, as Pydantic models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NoteBase(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    pinned: bool = False
    # TODO 2: priority: int = 0


class NoteCreate(NoteBase):
    pass


class NoteUpdate(NoteBase):
    pass


class NotePublic(NoteBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime


# TODO 4: NoteCount, the answer of GET /notes/count: total, pinned and unpinned, all int.
