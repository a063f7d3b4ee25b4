"""What the API accepts and answers, as Pydantic models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NoteBase(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    pinned: bool = False
    priority: int = 0


class NoteCreate(NoteBase):
    owner_id: int


class NoteUpdate(NoteBase):
    pass


class NotePublic(NoteBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int | None
    created_at: datetime


class NoteCount(BaseModel):
    total: int
    pinned: int
    unpinned: int


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class UserPublic(UserCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
