"""What the API accepts and answers, as Pydantic models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NoteBase(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    pinned: bool = False
    priority: int = 0


class NoteCreate(NoteBase):
    pass  # TODO 2: owner_id: int, the user the note belongs to.


class NoteUpdate(NoteBase):
    pass


class NotePublic(NoteBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    # TODO 2: owner_id: int | None (notes from before this step have no owner).
    created_at: datetime


class NoteCount(BaseModel):
    total: int
    pinned: int
    unpinned: int


# TODO 1: UserCreate (name: 1 to 100 characters) and UserPublic (name and id,
#         from_attributes=True), like the note schemas.
