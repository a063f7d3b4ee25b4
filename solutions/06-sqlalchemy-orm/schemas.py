"""What the API accepts and answers, as Pydantic models."""

from pydantic import BaseModel


class NoteBase(BaseModel):
    text: str


class NoteCreate(NoteBase):
    pass
