# pg_dump started, held up on a lock while a note is committed: is the note in the dump?
import os
import subprocess
import time
import uuid

import psycopg

url = os.environ.get("PERSISTLAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
notes, users = f"notes_{uuid.uuid4().hex[:8]}", f"users_{uuid.uuid4().hex[:8]}"
admin = psycopg.connect(url, autocommit=True)
admin.execute(f"CREATE TABLE {notes} (text text); CREATE TABLE {users} (name text)")
admin.execute(f"INSERT INTO {notes} VALUES ('before the dump')")
try:
    blocker = psycopg.connect(url)
    blocker.execute(f"LOCK TABLE {users} IN ACCESS EXCLUSIVE MODE")  # pg_dump must wait for it
    dump = subprocess.Popen(
        ["pg_dump", "--data-only", "-t", notes, "-t", users, url],
        stdout=subprocess.PIPE,
        text=True,
    )
    for _ in range(200):  # until pg_dump is waiting for the lock
        waiting = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' "
            "AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        if waiting:
            break
        time.sleep(0.05)
    admin.execute(f"INSERT INTO {notes} VALUES ('during the dump')")  # committed at once
    blocker.rollback()
    blocker.close()
    out, _ = dump.communicate(timeout=30)
    found = [t for t in ("before the dump", "during the dump") if t in out]
    print("dump holds: " + ", ".join(found))
finally:
    admin.execute(f"DROP TABLE IF EXISTS {notes}, {users}")
    admin.close()
