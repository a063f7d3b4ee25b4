"""Notes API, step 8: a priority on every note, filters and counts, on a database that grows.

This is your step-7 app. Write the revision in migrations/versions/ first, then follow
the TODOs here.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from database import Base, SessionLocal, engine
from fastapi import Depends, FastAPI, HTTPException, Response, status
from models import Note
from schemas import NoteCreate, NotePublic, NoteUpdate
from sqlalchemy import select
from sqlalchemy.orm import Session


ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # TODO 1: From this step on, the migrations make and change the tables. Replace create_all
    #         with `command.upgrade(Config(ALEMBIC_INI), "head")` (from alembic import command;
    #         from alembic.config import Config): every revision this database lacks, in order.
    Base.metadata.create_all(engine)
    yield


app = FastAPI(lifespan=lifespan)


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]


def find_note(db: Session, note_id: int) -> Note:
    note = db.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail=f"Note {note_id} not found")
    return note


@app.post("/notes", status_code=status.HTTP_201_CREATED)
def create_note(body: NoteCreate, db: SessionDep) -> NotePublic:
    note = Note(**body.model_dump())
    db.add(note)
    db.commit()
    db.refresh(note)
    return NotePublic.model_validate(note)


# TODO 3: Take `pinned: bool | None = None` and, when it is given, keep only the notes
#         with that value: query.where(Note.pinned == pinned).
@app.get("/notes")
def list_notes(db: SessionDep) -> list[NotePublic]:
    notes = db.scalars(select(Note).order_by(Note.id))
    return [NotePublic.model_validate(note) for note in notes]


# TODO 4: GET /notes/count answers a NoteCount. Declare it here, above /notes/{note_id}:
#         routes are tried in order, and "count" is not a note id.


@app.get("/notes/{note_id}")
def read_note(note_id: int, db: SessionDep) -> NotePublic:
    return NotePublic.model_validate(find_note(db, note_id))


@app.put("/notes/{note_id}")
def update_note(note_id: int, body: NoteUpdate, db: SessionDep) -> NotePublic:
    note = find_note(db, note_id)
    for field, value in body.model_dump().items():
        setattr(note, field, value)
    db.commit()
    return NotePublic.model_validate(note)


@app.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_note(note_id: int, db: SessionDep) -> Response:
    db.delete(find_note(db, note_id))
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
