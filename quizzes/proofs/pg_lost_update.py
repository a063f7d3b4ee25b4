# Two orders of the last pen, interleaved on PostgreSQL: T2 starts, T1 commits, then T2 writes.
import os
import uuid

import psycopg

url = os.environ.get("PERSISTLAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
table = f"stock_{uuid.uuid4().hex[:8]}"
admin = psycopg.connect(url, autocommit=True)
admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, qty int)")


def run(isolation: str, read_then_write: bool) -> str:
    admin.execute(f"DELETE FROM {table}; INSERT INTO {table} VALUES (1, 10)")
    t1, t2 = psycopg.connect(url), psycopg.connect(url)
    try:
        for t in (t1, t2):
            t.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
        read1 = t1.execute(f"SELECT qty FROM {table} WHERE id = 1").fetchone()[0]
        read2 = t2.execute(f"SELECT qty FROM {table} WHERE id = 1").fetchone()[0]
        for t, read in ((t1, read1), (t2, read2)):
            if read_then_write:
                t.execute(f"UPDATE {table} SET qty = %s WHERE id = 1", (read - 1,))
            else:
                t.execute(f"UPDATE {table} SET qty = qty - 1 WHERE id = 1")
            t.commit()
    except psycopg.errors.SerializationFailure as exc:
        return str(exc).splitlines()[0]
    finally:
        t1.close()
        t2.close()
    return str(admin.execute(f"SELECT qty FROM {table}").fetchone()[0])


try:
    print(
        f"read then write: {run('READ COMMITTED', True)}; "
        f"qty = qty - 1: {run('READ COMMITTED', False)}; "
        f"read then write, repeatable read: {run('REPEATABLE READ', True)}"
    )
finally:
    admin.execute(f"DROP TABLE {table}")
    admin.close()
