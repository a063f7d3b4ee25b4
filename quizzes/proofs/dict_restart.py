# Step 4's dict app served for real: two notes added, Ctrl+C (SIGINT), started again.
import signal

from grader.quiz.proofkit import serve

APP = """
from fastapi import FastAPI
from pydantic import BaseModel

notes_db = {}
next_id = 1
app = FastAPI()

class NoteIn(BaseModel):
    text: str

@app.post("/add_note")
def add_note(note: NoteIn):
    global next_id
    notes_db[next_id] = note.text
    next_id += 1
    return {"id": next_id - 1}

@app.get("/notes")
def list_notes():
    return notes_db
"""

with serve(APP) as server:
    for text in ("buy milk", "call mum"):
        server.request("POST", "/add_note", json={"text": text})
    before = server.request("GET", "/notes").json()
    server.stop(signal.SIGINT)
    server.start()
    after = server.request("GET", "/notes").json()
print(f"before: {len(before)} notes; after the restart: {after}")
