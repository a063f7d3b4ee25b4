# Step 3's counter with a slow line in the middle, and two clients posting at the same moment.
import threading

from grader.quiz.proofkit import serve

APP = """
import time
from fastapi import FastAPI

app = FastAPI()
notes_db = {}
next_id = 1

@app.post("/add_note")
def add_note(text: str):
    global next_id
    note_id = next_id
    time.sleep(0.2)  # any slow work between reading and writing the counter
    notes_db[note_id] = text
    next_id = note_id + 1
    return {"id": note_id}

@app.get("/notes")
def list_notes():
    return notes_db
"""

with serve(APP) as server:
    ids = []
    posts = [
        threading.Thread(
            target=lambda t=t: ids.append(
                server.request("POST", "/add_note", params={"text": t}).json()["id"]
            )
        )
        for t in ("buy milk", "call mum")
    ]
    for post in posts:
        post.start()
    for post in posts:
        post.join()
    kept = len(server.request("GET", "/notes").json())
print(f"ids: {sorted(ids)}; notes kept: {kept}")
