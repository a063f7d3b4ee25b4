"""A step-7 app written another way than the reference: what an honest student might hand in."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from database import Base, SessionLocal, engine
from fastapi import Depends, FastAPI, HTTPException, Response
from models import Note
from schemas import NoteCreate, NotePublic, NoteUpdate
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


@app.post("/notes", status_code=201)
def make(payload: NoteCreate, db: SessionDep):
    row = Note(text=payload.text)
    db.add(row)
    db.commit()
    db.refresh(row)
    return NotePublic.model_validate(row)


@app.get("/notes")
def everything(db: SessionDep):
    out = []
    for row in db.scalars(select(Note).order_by(Note.id)).all():
        out.append(NotePublic.model_validate(row))
    return out


@app.get("/notes/{nid}")
def one(nid: int, db: SessionDep):
    row = db.get(Note, nid)
    if not row:
        raise HTTPException(404, f"Note {nid} not found")
    return NotePublic.model_validate(row)


@app.put("/notes/{nid}")
def change(nid: int, payload: NoteUpdate, db: SessionDep):
    row = db.get(Note, nid)
    if not row:
        raise HTTPException(404, f"Note {nid} not found")
    row.text = payload.text
    db.commit()
    return NotePublic.model_validate(row)


@app.delete("/notes/{nid}", status_code=204)
def remove(nid: int, db: SessionDep):
    row = db.get(Note, nid)
    if not row:
        raise HTTPException(404, f"Note {nid} not found")
    db.delete(row)
    db.commit()
    return Response(status_code=204)
