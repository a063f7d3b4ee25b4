"""How values reach the SQL is read wherever a correct app keeps its SQL, and a value pasted in is
found wherever it is pasted."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.sql_source import INSERT, inserts_without_placeholders, sql_calls

HELPER = (
    "import sqlite3\n\n\ndef run(sql, params=()):\n    with sqlite3.connect('notes.db') as conn:\n"
    "        return conn.execute(sql, params)\n\n\n"
)
SAFE = {
    "a constant of another module": {
        "queries.py": "INSERT_NOTE = 'INSERT INTO notes (text) VALUES (?)'\n",
        "db.py": "from queries import INSERT_NOTE\n\n\ndef add(conn, text):\n"
                 "    return conn.execute(INSERT_NOTE, (text,))\n",
    },
    "a module's attribute": {
        "queries.py": "INSERT_NOTE = 'INSERT INTO notes (text) VALUES (?)'\n",
        "db.py": "import queries as q\n\n\ndef add(conn, text):\n    return conn.execute(q.INSERT_NOTE, (text,))\n",
    },
    "a package's constant": {
        "sql/__init__.py": "",
        "sql/queries.py": "INSERT_NOTE = 'INSERT INTO notes (text) VALUES (?)'\n",
        "db.py": "from sql.queries import INSERT_NOTE\n\n\ndef add(conn, text):\n"
                 "    return conn.execute(INSERT_NOTE, (text,))\n",
    },
    "a class attribute": {
        "db.py": "class Store:\n    INSERT = 'INSERT INTO notes (text) VALUES (?)'\n\n"
                 "    def add(self, text):\n        return self.conn.execute(self.INSERT, (text,))\n",
    },
    "a helper's argument": {"db.py": HELPER + "def add(text):\n    return run('INSERT INTO notes (text) VALUES (?)', (text,))\n"},
    "a helper's keyword argument": {
        "db.py": HELPER + "def add(text):\n    return run(params=[text], sql='INSERT INTO notes (text) VALUES (?)')\n",
    },
    "a dedented text": {
        "db.py": "import textwrap\n\n\ndef add(conn, text):\n"
                 "    return conn.execute(textwrap.dedent('''\n        INSERT INTO notes (text)\n"
                 "        VALUES (?)''').strip(), (text,))\n",
    },
}


@pytest.mark.parametrize("files", SAFE.values(), ids=SAFE.keys())
def test_an_insert_through_placeholders_is_found_where_it_is_kept(files: dict[str, str], tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    calls = sql_calls(tmp_path)
    assert any(c.sql and INSERT.search(c.sql) for c in calls), calls
    assert not inserts_without_placeholders(calls) and not any(c.built_at for c in calls), calls


UNSAFE = {
    "a helper given an f-string": (HELPER + "def add(text):\n    return run(f\"INSERT INTO notes (text) VALUES ('{text}')\")\n", "db.py line 10"),
    "a helper given no values": (HELPER + "def add(text):\n    return run('INSERT INTO notes (text) VALUES (?)')\n", ""),
    "a class attribute built": (("class Store:\n    INSERT = 'INSERT INTO notes (text) VALUES (%s)' % TEXT\n\n"
                                "    def add(self):\n        return self.conn.execute(self.INSERT)\n"), "db.py line 2"),
}


@pytest.mark.parametrize(("source", "built_at"), UNSAFE.values(), ids=UNSAFE.keys())
def test_a_value_pasted_in_is_found_on_the_way(source: str, built_at: str, tmp_path: Path) -> None:
    (tmp_path / "db.py").write_text(source)
    calls = sql_calls(tmp_path)
    if built_at:
        assert built_at in [c.built_at for c in calls], calls
    else:
        assert inserts_without_placeholders(calls), calls


def test_a_library_call_of_the_same_name_is_not_a_helper(tmp_path: Path) -> None:
    (tmp_path / "db.py").write_text(HELPER + "import subprocess\n\nsubprocess.run(f\"echo {HELPER}\")\n")
    (tmp_path / "main.py").write_text("from subprocess import run\n\nrun(f\"echo {1}\")\n")
    assert not [c for c in sql_calls(tmp_path) if c.built_at]
