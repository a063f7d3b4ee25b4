# A dict saved to notes.json in the lifespan's shutdown: a real server, stopped by each signal.
import json
import signal
from pathlib import Path

from grader.quiz.proofkit import serve

APP = """
import json
from contextlib import asynccontextmanager
from pathlib import Path
from fastapi import FastAPI

SAVED = Path("notes.json")
notes = json.loads(SAVED.read_text()) if SAVED.exists() else []

@asynccontextmanager
async def lifespan(app):
    yield
    SAVED.write_text(json.dumps(notes))

app = FastAPI(lifespan=lifespan)

@app.post("/notes")
def add_note(text: str):
    notes.append(text)
    return {"id": len(notes)}
"""

kept = {}
for signum in (signal.SIGTERM, signal.SIGKILL):
    Path("notes.json").unlink(missing_ok=True)
    with serve(APP) as server:
        server.request("POST", "/notes", params={"text": "buy milk"})
        server.stop(signum)
    saved = Path("notes.json").exists() and json.loads(Path("notes.json").read_text())
    kept[signum.name] = "kept" if saved == ["buy milk"] else "lost"  # what the next start reads
print(f"SIGTERM: {kept['SIGTERM']}, SIGKILL: {kept['SIGKILL']}")
