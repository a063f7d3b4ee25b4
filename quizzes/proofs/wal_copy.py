# A live database in WAL mode, copied three ways while its connection is still open.
import shutil
import sqlite3

live = sqlite3.connect("notes.db")
live.execute("PRAGMA journal_mode = WAL")
live.execute("PRAGMA wal_autocheckpoint = 0")  # as between two checkpoints of a busy app
with live:
    live.execute("CREATE TABLE notes (text TEXT)")
    live.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",), ("c",)])


def count(path: str) -> str:
    try:
        with sqlite3.connect(path) as db:
            return str(db.execute("SELECT count(*) FROM notes").fetchone()[0])
    except sqlite3.OperationalError as exc:
        return str(exc)


shutil.copyfile("notes.db", "copied.db")  # the file alone, notes.db-wal left behind
with sqlite3.connect("backup.db") as target:
    live.backup(target)
live.execute("VACUUM INTO 'vacuumed.db'")
print(f"cp: {count('copied.db')}; backup(): {count('backup.db')}; VACUUM INTO: {count('vacuumed.db')}")
live.close()
