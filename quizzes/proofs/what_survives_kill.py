# Three ways to keep a note (a list saved at shutdown, a buffered line, a committed row), and a
# real server stopped with SIGTERM, then with SIGKILL.
import json
import signal
import sqlite3
from pathlib import Path

from grader.quiz.proofkit import serve

APP = """
import json, sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from fastapi import FastAPI

notes = []
log = open("notes.log", "a")
db = sqlite3.connect("notes.db", check_same_thread=False)
db.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")

@asynccontextmanager
async def lifespan(app):
    yield
    Path("notes.json").write_text(json.dumps(notes))

app = FastAPI(lifespan=lifespan)

@app.post("/notes")
def add_note(text: str):
    notes.append(text)
    log.write(text + "\\n")
    with db:
        db.execute("INSERT INTO notes VALUES (?)", (text,))
    return {"ok": True}
"""

lines = []
for signum in (signal.SIGTERM, signal.SIGKILL):
    for name in ("notes.json", "notes.log", "notes.db"):
        Path(name).unlink(missing_ok=True)
    with serve(APP) as server:
        server.request("POST", "/notes", params={"text": "buy milk"})
        server.stop(signum)
    saved = Path("notes.json").exists() and json.loads(Path("notes.json").read_text())
    logged = Path("notes.log").read_text()
    with sqlite3.connect("notes.db") as db:
        rows = db.execute("SELECT count(*) FROM notes").fetchone()[0]
    kept = [n for n, ok in (("notes.json", saved), ("notes.log", logged), ("row", rows)) if ok]
    lines.append(f"{signum.name}: {' '.join(kept) or 'nothing'}")
print("; ".join(lines))
