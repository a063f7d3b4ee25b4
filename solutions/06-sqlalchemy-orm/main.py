"""Notes API, step 6: the same routes, now through SQLAlchemy sessions."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from database import Base, SessionLocal, engine
from fastapi import Depends, FastAPI
from models import Note
from schemas import NoteCreate
from sqlalchemy import select
from sqlalchemy.orm import Session


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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


@app.post("/add_note")
def add_note(note: NoteCreate, db: SessionDep) -> dict[str, int]:
    row = Note(text=note.text)
    db.add(row)
    db.commit()
    return {"id": row.id}


@app.get("/notes")
def list_notes(db: SessionDep) -> dict[int, str]:
    return {row.id: row.text for row in db.scalars(select(Note).order_by(Note.id))}
