"""What the API accepts and answers, as Pydantic models."""

from pydantic import BaseModel


class NoteBase(BaseModel):
    text: str


class NoteCreate(NoteBase):
    """The body of POST /add_note: only the text; the database chooses id and created_at."""
