# Two ways to save notes.json, each in a process killed halfway through writing the new content.
import json
import subprocess
import sys
from pathlib import Path

SAVE = """
import json, os, signal, sys
new = json.dumps({str(i): f"note {i}" for i in range(1, 20001)})
if sys.argv[1] == "replace":
    out = open("notes.json.tmp", "w")
else:
    out = open("notes.json", "w")
out.write(new[: len(new) // 2])
out.flush()
os.kill(os.getpid(), signal.SIGKILL)  # the crash, halfway through the save
out.write(new[len(new) // 2 :])
out.close()
os.fsync(os.open("notes.json.tmp", os.O_RDONLY))
os.replace("notes.json.tmp", "notes.json")
"""

found = {}
for how in ("replace", "in place"):
    Path("notes.json").write_text(json.dumps({"1": "buy milk"}))
    subprocess.run([sys.executable, "-c", SAVE, how], check=False)
    try:
        found[how] = "old" if json.loads(Path("notes.json").read_text()) == {"1": "buy milk"} else "new"
    except ValueError:
        found[how] = "broken"
print(f"replace: {found['replace']}; in place: {found['in place']}")
