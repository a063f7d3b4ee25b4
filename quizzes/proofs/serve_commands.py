# Four ways to start step 2's main.py: which one serves, and how the others end.
import subprocess
import sys

from grader.quiz.proofkit import serve

MAIN = """
from fastapi import FastAPI

notes_db = {}
next_id = 1
app = FastAPI()
"""

seen = {}
with serve(MAIN) as server:  # `uvicorn main:app`, polled until it answers
    seen["uvicorn main:app"] = f"serves ({server.request('GET', '/docs').status_code})"
for label, command in (
    ("uvicorn app:main", ["-m", "uvicorn", "app:main"]),
    ("python main.py", ["main.py"]),
    ("uvicorn main.py", ["-m", "uvicorn", "main.py"]),
):
    done = subprocess.run([sys.executable, *command], capture_output=True, timeout=30, check=False)
    seen[label] = f"exits {done.returncode}"
print("; ".join(f"{k}: {v}" for k, v in seen.items()))
