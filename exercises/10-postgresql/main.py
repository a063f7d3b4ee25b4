"""Notes API, step 10: the step-9 app, unchanged, on SQLite or PostgreSQL as DATABASE_URL says."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from alembic import command
from alembic.config import Config
from database import SessionLocal
from fastapi import Depends, FastAPI, HTTPException, Response, status
from models import Note, User
from schemas import NoteCount, NoteCreate, NotePublic, NoteUpdate, UserCreate, UserPublic
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    command.upgrade(Config(ALEMBIC_INI), "head")  # each revision this database lacks, in order
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


def find_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail=f"User {user_id} not found")
    return user


def commit_or_409(db: Session, detail: str) -> None:
    """Commit; if the database refuses (a foreign key), undo everything and answer 409."""
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise HTTPException(status_code=409, detail=detail) from None


@app.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, db: SessionDep) -> UserPublic:
    user = User(**body.model_dump())
    db.add(user)
    db.commit()
    return UserPublic.model_validate(user)


@app.get("/users/{user_id}/notes")
def list_user_notes(user_id: int, db: SessionDep) -> list[NotePublic]:
    find_user(db, user_id)
    notes = db.scalars(select(Note).where(Note.owner_id == user_id).order_by(Note.id))
    return [NotePublic.model_validate(note) for note in notes]


@app.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: int, db: SessionDep) -> Response:
    db.delete(find_user(db, user_id))
    commit_or_409(db, f"User {user_id} still owns notes; delete them first")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@app.post("/notes", status_code=status.HTTP_201_CREATED)
def create_note(body: NoteCreate, db: SessionDep) -> NotePublic:
    note = Note(**body.model_dump())
    db.add(note)
    commit_or_409(db, f"User {body.owner_id} does not exist")
    db.refresh(note)
    return NotePublic.model_validate(note)


@app.post("/notes/import", status_code=status.HTTP_201_CREATED)
def import_notes(body: list[NoteCreate], db: SessionDep) -> list[NotePublic]:
    notes = [Note(**item.model_dump()) for item in body]
    db.add_all(notes)
    commit_or_409(db, "An owner_id does not exist; no note was imported")
    for note in notes:
        db.refresh(note)
    return [NotePublic.model_validate(note) for note in notes]


@app.get("/notes")
def list_notes(db: SessionDep, pinned: bool | None = None) -> list[NotePublic]:
    query = select(Note).order_by(Note.id)
    if pinned is not None:
        query = query.where(Note.pinned == pinned)
    return [NotePublic.model_validate(note) for note in db.scalars(query)]


@app.get("/notes/count")
def count_notes(db: SessionDep) -> NoteCount:
    total = db.scalar(select(func.count()).select_from(Note)) or 0
    # TODO 5: SQLite keeps true and false as 1 and 0, so summing the column counts the pinned
    #         notes there; PostgreSQL has no sum() for booleans. Count the rows instead:
    #         select(func.count()).select_from(Note).where(Note.pinned).
    pinned = db.scalar(select(func.sum(Note.pinned))) or 0
    return NoteCount(total=total, pinned=pinned, unpinned=total - pinned)


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
