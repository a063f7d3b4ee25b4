"""Notes API, step 11: ready to ship: settings from the environment and a health check."""

from collections.abc import Iterator
from typing import Annotated

from database import SessionLocal
from fastapi import Depends, FastAPI, HTTPException, Response, status
from models import Note, User
from schemas import NoteCount, NoteCreate, NotePublic, NoteUpdate, UserCreate, UserPublic
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session


# The tables are brought up to date before the server starts, once (`alembic upgrade head` in the
# Dockerfile's CMD), not by each of its workers as it starts.
app = FastAPI()


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


@app.get("/health")
def health(db: SessionDep) -> dict[str, str]:
    try:
        db.execute(select(Note.id).limit(1))  # reads the file; SQLite answers SELECT 1 without it
    except SQLAlchemyError:
        raise HTTPException(status_code=503, detail="The database does not answer") from None
    return {"status": "ok"}


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
    pinned = db.scalar(select(func.count()).where(Note.pinned)) or 0
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
