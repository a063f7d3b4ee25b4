"""Notes API, step 4: GET /notes answers every note. Restart the server and they are gone."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

notes_db: dict[int, str] = {}
next_id = 1


class NoteIn(BaseModel):
    text: str


@app.post("/add_note")
def add_note(note: NoteIn) -> dict[str, int]:
    global next_id
    note_id = next_id
    notes_db[note_id] = note.text
    next_id += 1
    return {"id": note_id}


# TODO 1: Add a route for GET /notes that returns the whole notes_db dict.
