"""Notes API, step 5: the notes live in notes.db, so they outlive the server process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import db
from fastapi import FastAPI
from pydantic import BaseModel


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    db.create_table()
    yield


app = FastAPI(lifespan=lifespan)


class NoteIn(BaseModel):
    text: str


@app.post("/add_note")
def add_note(note: NoteIn) -> dict[str, int]:
    return {"id": db.insert_note(note.text)}


@app.get("/notes")
def list_notes() -> dict[int, str]:
    return db.all_notes()
