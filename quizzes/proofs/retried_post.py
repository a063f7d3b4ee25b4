# A POST whose answer is slower than the client waits for, then retried by the client.
import httpx

from grader.quiz.proofkit import serve

APP = """
import sqlite3, time
from fastapi import FastAPI

app = FastAPI()
db = sqlite3.connect("notes.db", check_same_thread=False)
db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")

@app.post("/notes", status_code=201)
def add_note(text: str):
    with db:
        cur = db.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    time.sleep(0.5)  # the answer is slow to reach the client, after the commit
    return {"id": cur.lastrowid}

@app.get("/notes")
def list_notes():
    return [row[0] for row in db.execute("SELECT text FROM notes")]
"""

with serve(APP) as server:
    try:
        server.request("POST", "/notes", params={"text": "buy milk"}, timeout=0.2)
        first = "answered"
    except httpx.TimeoutException:
        first = "timed out"
    server.request("POST", "/notes", params={"text": "buy milk"})  # the client's retry
    print(f"first try: {first}; notes after the retry: {len(server.request('GET', '/notes').json())}")
