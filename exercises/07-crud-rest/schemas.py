"""What the API accepts and answers, as Pydantic models."""

from pydantic import BaseModel


# TODO 5: text must be 1 to 500 characters: `text: str = Field(min_length=1, max_length=500)`.
# TODO 1: pinned, a bool defaulting to False.
class NoteBase(BaseModel):
    text: str


class NoteCreate(NoteBase):
    pass


# TODO 3: NoteUpdate(NoteBase), the body of PUT: the same fields as a create.

# TODO 1: NotePublic(NoteBase), what every route answers: id: int and created_at: datetime
#         on top of the base fields, and model_config = ConfigDict(from_attributes=True) so
#         that NotePublic.model_validate(row) can read a SQLAlchemy row.
