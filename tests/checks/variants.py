"""Broken submissions, each made from a reference solution by a few exact edits.

Every variant names the check that must be the first to fail and words its message must hold.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import SOLUTIONS


@dataclass(frozen=True)
class Variant:
    name: str
    step: int
    base: str | Variant  # the solutions/ folder it is made from, or another variant
    edits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # by path in the folder
    files: dict[str, str] = field(default_factory=dict)  # whole files, replacing or adding
    first_failure: str = ""  # the check function's name
    says: tuple[str, ...] = ()
    hint_says: tuple[str, ...] = ()
    alone: bool = False  # every other check of the step passes: the mistake costs one check
    encodings: dict[str, str] = field(default_factory=dict)  # file -> codec it is written in
    removed: tuple[str, ...] = ()  # files or folders of the base left out
    status: str = "fail"  # the step's: "error" where Python cannot read the code at all

    @property
    def folder(self) -> str:
        """The step folder the variant is a version of."""
        return self.base if isinstance(self.base, str) else self.base.folder

    def write(self, target: Path) -> Path:
        if isinstance(self.base, Variant):
            self.base.write(target)
        else:
            shutil.copytree(SOLUTIONS / self.base, target,
                            ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        for name in self.removed:
            path = target / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        for name, changes in self.edits.items():
            path = target / name
            text = path.read_text(encoding="utf-8")
            for old, new in changes:
                assert old in text, f"{self.name}: {old!r} is not in {path}"
                text = text.replace(old, new)
            path.write_text(text, encoding=self.encodings.get(name, "utf-8"))
        for name, text in self.files.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text, encoding=self.encodings.get(name, "utf-8"))
        for name, codec in self.encodings.items():
            path = target / name
            if name not in self.edits and name not in self.files and path.is_file():
                path.write_text(path.read_text(encoding="utf-8"), encoding=codec)
        return target


S1, S2, S3, S4, S5 = (
    "01-notes-dict", "02-fastapi-app", "03-add-note", "04-list-notes", "05-database-swap",
)
ADD = "    notes_db[note_id] = note.text\n    next_id += 1\n"

VARIANTS = [
    Variant("syntax-error", 1, S1, {"main.py": [("next_id = 1", "next_id = = 1")]},
            first_failure="test_notes_db_is_empty_dict", says=("main.py line 4", "SyntaxError"), status="error"),
    Variant("notes-db-list", 1, S1, {"main.py": [("notes_db: dict[int, str] = {}", "notes_db = []")]},
            first_failure="test_notes_db_is_empty_dict", says=("a list (`[]`)", "should be an empty dict")),
    Variant("notes-db-prefilled", 1, S1, {"main.py": [("= {}", "= {1: 'x'}")]},
            first_failure="test_notes_db_is_empty_dict", says=("starts with 1 entries",)),
    Variant("next-id-string", 1, S1, {"main.py": [("next_id = 1", "next_id = '1'")]},
            first_failure="test_next_id_starts_at_one", says=("the text '1'",)),
    Variant("next-id-zero", 1, S1, {"main.py": [("next_id = 1", "next_id = 0")]},
            first_failure="test_next_id_starts_at_one", says=("starts at 0",)),
    Variant("import-error", 2, S2, {"main.py": [("import FastAPI", "import FastApi")]},
            first_failure="test_app_is_fastapi", says=("import failed at main.py line 3", "FastApi")),
    Variant("app-not-called", 2, S2, {"main.py": [("app = FastAPI()", "app = FastAPI")]},
            first_failure="test_app_is_fastapi", says=("not a FastAPI application",),
            hint_says=("brackets",)),
    Variant("no-app", 2, S2, {"main.py": [("app = FastAPI()", "application = FastAPI()")]},
            first_failure="test_app_is_fastapi", says=("no module-level name `app`",)),
    Variant("no-app-served", 3, S3, {"main.py": [("app = FastAPI()", "api = FastAPI()"),
                                                ("@app.post", "@api.post")]},
            first_failure="test_first_note_gets_id_one", says=("defines no `app`",)),
    Variant("field-misnamed", 3, S3, {"main.py": [("    text: str", "    body: str"),
                                                 ("note.text", "note.body")]},
            first_failure="test_first_note_gets_id_one", says=("422", "right shape"),
            hint_says=("called `text`",)),
    Variant("wrong-method", 3, S3, {"main.py": [('@app.post("/add_note")', '@app.get("/add_note")')]},
            first_failure="test_first_note_gets_id_one", says=("405", "not for POST")),
    Variant("wrong-path", 3, S3, {"main.py": [('"/add_note"', '"/add-note"')]},
            first_failure="test_first_note_gets_id_one", says=("404", "no route at /add_note")),
    Variant("query-string", 3, S3, {"main.py": [("def add_note(note: NoteIn)", "def add_note(text: str)"),
                                               ("= note.text", "= text")]},
            first_failure="test_first_note_gets_id_one", says=("query string",),
            hint_says=("Pydantic model",)),
    Variant("missing-global", 3, S3, {"main.py": [("    global next_id\n", "")]},
            first_failure="test_first_note_gets_id_one", says=("500", "UnboundLocalError"),
            hint_says=("global next_id",)),
    Variant("no-increment", 3, S3, {"main.py": [("    next_id += 1\n", "")]},
            first_failure="test_ids_count_up", says=("all got id 1",)),
    Variant("returns-text", 3, S3, {"main.py": [('return {"id": note_id}', 'return {"text": note.text}'),
                                               ("-> dict[str, int]:", ":")]},
            first_failure="test_first_note_gets_id_one", says=('no "id"',)),
    Variant("return-type-mismatch", 3, S3, {"main.py": [('return {"id": note_id}', 'return {"id": str(note_id) + "x"}')]},
            first_failure="test_first_note_gets_id_one", says=("does not match the return type",)),
    Variant("accepts-any-dict", 3, S3, {"main.py": [("def add_note(note: NoteIn)", "def add_note(note: dict)"),
                                                   ("= note.text", "= note.get('text')")]},
            first_failure="test_rejects_a_body_without_text", says=("should be refused with 422",)),
    Variant("handler-loops", 3, S3, {"main.py": [("    global next_id\n", "    global next_id\n    while True:\n        pass\n")]},
            first_failure="test_first_note_gets_id_one", says=("no answer within",)),
    Variant("import-hangs", 3, S3, {"main.py": [("app = FastAPI()", "import time\ntime.sleep(60)\napp = FastAPI()")]},
            first_failure="test_first_note_gets_id_one", says=("did not start within",)),
    Variant("exits-at-import", 3, S3, {"main.py": [("app = FastAPI()", "import sys\nsys.exit(0)\napp = FastAPI()")]},
            first_failure="test_first_note_gets_id_one", says=("ended before it answered",)),
    Variant("os-exit-at-import", 3, S3, {"main.py": [("app = FastAPI()", "import os\nos._exit(0)\napp = FastAPI()")]},
            first_failure="test_first_note_gets_id_one", says=("ended before it answered",)),
    Variant("lists-texts", 4, S4, {"main.py": [("    return notes_db", "    return list(notes_db.values())"),
                                              ("def list_notes() -> dict[int, str]:", "def list_notes():")]},
            first_failure="test_no_notes_at_first", says=("JSON array",)),
    Variant("hard-coded", 4, S4, {"main.py": [("    return notes_db", "    return {1: 'buy oat milk'}")]},
            first_failure="test_no_notes_at_first", says=("nobody added",)),
    Variant("dict-in-memory", 5, S4, first_failure="test_notes_survive_a_crash",
            says=("Python dict", "memory of the server process"), hint_says=("demo restart",)),
    Variant("startup-crash", 5, S5, {"main.py": [("    db.create_table()\n", "    db.create_table()\n    raise RuntimeError('no database today')\n")]},
            first_failure="test_add_and_list", says=("crashed while starting up", "main.py line", "no database today")),
    Variant("create-without-if-not-exists", 5, S5, {"db.py": [("CREATE TABLE IF NOT EXISTS", "CREATE TABLE")]},
            first_failure="test_notes_survive_a_crash", says=("already exists",),
            hint_says=("IF NOT EXISTS",)),
    Variant("f-string-sql", 5, S5, {"db.py": [('conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))',
                                              "conn.execute(f\"INSERT INTO notes (text) VALUES ('{text}')\")")]},
            first_failure="test_quotes_are_safe", says=("quote",), hint_says=("?",)),
    Variant("ids-from-python", 5, S5,
            {"db.py": [("id INTEGER PRIMARY KEY AUTOINCREMENT", "id INTEGER"),
                       (("def insert_note(text: str) -> int:\n    with closing(connect()) as conn, conn:\n"
                         "        cursor = conn.execute(\"INSERT INTO notes (text) VALUES (?)\", (text,))\n"
                         "        return cursor.lastrowid"),
                        ("next_id = 1\n\n\ndef insert_note(text: str) -> int:\n    global next_id\n"
                         "    note_id, next_id = next_id, next_id + 1\n    with closing(connect()) as conn, conn:\n"
                         "        conn.execute(\"INSERT INTO notes (id, text) VALUES (?, ?)\", (note_id, text))\n"
                         "    return note_id"))]},
            first_failure="test_ids_are_not_reused", says=("got id 1",), hint_says=("AUTOINCREMENT",)),
]

NO_COMMIT_DB = '''import sqlite3

conn = sqlite3.connect("notes.db", check_same_thread=False)


def create_table() -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT)")


def insert_note(text: str) -> int:
    return conn.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid


def all_notes() -> dict[int, str]:
    return dict(conn.execute("SELECT id, text FROM notes"))


def close() -> None:
    conn.commit()
    conn.close()
'''

VARIANTS.append(
    Variant("commit-only-at-shutdown", 5, S5,
            {"main.py": [("    yield\n", "    yield\n    db.close()\n")]},
            files={"db.py": NO_COMMIT_DB},
            first_failure="test_notes_survive_a_crash", says=("never committed",),
            hint_says=("commit()",))
)

SAFE_INSERT = (
    "def insert_note(text: str) -> int:\n    with closing(connect()) as conn, conn:\n"
    "        cursor = conn.execute(\"INSERT INTO notes (text) VALUES (?)\", (text,))\n"
)
ESCAPED_SQL = (
    "def insert_note(text: str) -> int:\n"
    "    safe = text.replace(\"'\", \"''\")\n"
    "    sql = f\"INSERT INTO notes (text) VALUES ('{safe}')\"\n"
    "    with closing(connect()) as conn, conn:\n"
    "        cursor = conn.execute(sql)\n"
)
PRUNE_AT_SHUTDOWN = (
    "    yield\n"
    "    with db.closing(db.connect()) as conn, conn:\n"
    "        conn.execute(\"DELETE FROM notes WHERE id < (SELECT max(id) FROM notes)\")\n"
)

VARIANTS += [
    Variant("no-commit-own-connections", 5, S5,
            {"db.py": [("    with closing(connect()) as conn, conn:\n        cursor",
                        "    with closing(connect()) as conn:\n        cursor")]},
            first_failure="test_add_and_list", says=("never committed", "notes.db does not hold it"),
            hint_says=("conn.commit()",)),
    Variant("escaped-sql-in-a-variable", 5, S5,
            {"db.py": [(SAFE_INSERT, ESCAPED_SQL)]},
            first_failure="test_quotes_are_safe", says=("db.py line 26", "db.py line 24 puts a value"),
            hint_says=("?",)),
    Variant("shutdown-keeps-the-last-note", 5, S5, {"main.py": [("    yield\n", PRUNE_AT_SHUTDOWN)]},
            first_failure="test_notes_survive_a_graceful_restart", says=("stopped normally", "2 notes"),
            hint_says=("after the `yield`",)),
]

S6 = "06-sqlalchemy-orm"
GET_DB = "    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n"

VARIANTS += [
    Variant("get-db-returns", 6, S6, {"main.py": [(GET_DB, "    return SessionLocal()\n")]},
            first_failure="test_sessions_are_closed", says=("connections to notes.db",),
            hint_says=("yield", "finally")),
    Variant("get-db-no-finally", 6, S6, {"main.py": [(GET_DB, "    db = SessionLocal()\n    yield db\n")]},
            first_failure="test_sessions_are_closed", hint_says=("finally",)),
    Variant("flush-not-commit", 6, S6, {"main.py": [("    db.commit()\n", "    db.flush()\n")]},
            first_failure="test_add_and_list", says=("without a commit",), hint_says=("db.commit()",)),
    Variant("no-commit", 6, S6, {"main.py": [("    db.commit()\n", "")]},
            first_failure="test_add_and_list", says=("never committed",), hint_says=("db.commit()",)),
    Variant("create-all-missing", 6, S6, {"main.py": [("    Base.metadata.create_all(engine)\n", "")]},
            first_failure="test_add_and_list", says=("no such table",), hint_says=("create_all",)),
    Variant("url-hard-coded", 6, S6,
            {"database.py": [('os.environ.get("DATABASE_URL", "sqlite:///notes.db")', '"sqlite:///notes.db"')]},
            first_failure="test_engine_from_database_url", says=("DATABASE_URL",)),
]

# Found by benchmarks/mutants.py: one small change to a reference, which a check must catch.
AUTOINCREMENT_ARGS = '    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}\n'
VARIANTS += [
    Variant("text-never-stored", 3, S3, {"main.py": [("    notes_db[note_id] = note.text\n", "")]},
            first_failure="test_first_note_gets_id_one", says=("stores anything in notes_db",)),
    Variant("step4-ids-stuck-at-one", 4, S4, {"main.py": [("    next_id += 1\n", "")]},
            first_failure="test_lists_every_note", says=("[1, 1, 1]",)),
    Variant("step4-ids-from-two", 4, S4, {"main.py": [("next_id = 1", "next_id = 2")]},
            first_failure="test_lists_every_note", says=("[2, 3, 4]", "[1, 2, 3]")),
    Variant("step6-without-autoincrement", 6, S6, {"models.py": [(AUTOINCREMENT_ARGS, "")]},
            first_failure="test_notes_table_has_its_columns", says=("without AUTOINCREMENT",), alone=True),
]

S7 = "07-crud-rest"

VARIANTS += [
    Variant("shared-session", 7, S7,
            {"main.py": [(GET_DB, "    yield SHARED\n"),
                         ("def get_db()", "SHARED = SessionLocal()\n\n\ndef get_db()")]},
            first_failure="test_concurrent_posts", says=("same session",), hint_says=("SessionLocal()",)),
]
VARIANTS += [
    Variant("create-answers-200", 7, S7, {"main.py": [(', status_code=status.HTTP_201_CREATED', "")]},
            first_failure="test_create_answers_201", says=("201 Created",), hint_says=("status_code=201",),
            alone=True),
    Variant("missing-note-crashes", 7, S7,
            {"main.py": [('    if note is None:\n        raise HTTPException(status_code=404, detail=f"Note {note_id} not found")\n', "")]},
            first_failure="test_list_and_read_one", says=("instead of answering 404",), hint_says=("HTTPException",)),
    Variant("text-without-limit", 7, S7, {"schemas.py": [("Field(min_length=1, max_length=500)", "Field(min_length=1)")]},
            first_failure="test_bad_input_is_refused", says=("501 characters", "422")),
    Variant("delete-not-committed", 7, S7,
            {"main.py": [("    db.delete(find_note(db, note_id))\n    db.commit()\n", "    db.delete(find_note(db, note_id))\n")]},
            first_failure="test_delete", says=("answered 204", "still lists"), hint_says=("db.commit()",)),
    Variant("ids-reused", 7, S7, {"models.py": [('    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}\n', "")]},
            first_failure="test_changes_survive_a_restart", says=("new note got id",), hint_says=("sqlite_autoincrement",)),
]

VARIANTS += [  # found by benchmarks/mutants.py
    Variant("step7-one-character-refused", 7, S7, {"schemas.py": [("min_length=1", "min_length=2")]},
            first_failure="test_bad_input_is_refused", says=("1 character",), alone=True),
    Variant("step7-database-url-ignored", 7, S7,
            {"database.py": [('os.environ.get("DATABASE_URL", "sqlite:///notes.db")', '"sqlite:///notes.db"')]},
            first_failure="test_changes_survive_a_restart", says=("DATABASE_URL=sqlite:///elsewhere-",),
            alone=True),
    Variant("step7-default-file-renamed", 7, S7, {"database.py": [('"sqlite:///notes.db"', '"sqlite:///data.db"')]},
            first_failure="test_notes_survive_a_graceful_restart", says=("not in notes.db",), alone=True),
]

DROP_AT_SHUTDOWN = [("    yield\n", "    yield\n    Base.metadata.drop_all(engine)\n")]

VARIANTS += [
    Variant("put-without-validation", 7, S7,
            {"schemas.py": [("class NoteUpdate(NoteBase):\n    pass",
                             "class NoteUpdate(BaseModel):\n    text: str\n    pinned: bool = False")]},
            first_failure="test_bad_input_is_refused", says=("PUT /notes/", "an empty text", "422"),
            hint_says=("NoteUpdate",)),
    Variant("drop-tables-at-shutdown", 7, S7, {"main.py": DROP_AT_SHUTDOWN},
            first_failure="test_notes_survive_a_graceful_restart", says=("SIGTERM", "survived a SIGKILL")),
]

# One mistake, one check: what a check only sets up is accepted in any working form.
NEXT_ID_TWO = [("next_id = 1", "next_id = 2")]
SAMPLE_ROW = (
    '            " text TEXT NOT NULL)"\n        )\n',
    ('            " text TEXT NOT NULL)"\n        )\n'
     '        if conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0:\n'
     '            conn.execute("INSERT INTO notes (text) VALUES (?)", ("Welcome!",))\n'),
)
PLAIN_ROWID = [("id INTEGER PRIMARY KEY AUTOINCREMENT", "id INTEGER PRIMARY KEY")]
MAX_PLUS_ONE = [
    ("id INTEGER PRIMARY KEY AUTOINCREMENT", "id INTEGER PRIMARY KEY"),
    ('        cursor = conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))\n        return cursor.lastrowid',
     ('        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM notes").fetchone()\n'
      '        conn.execute("INSERT INTO notes (id, text) VALUES (?, ?)", (top + 1, text))\n'
      "        return top + 1")),
]
URL = 'os.environ.get("DATABASE_URL", "sqlite:///notes.db")'
ENGINE = "engine = create_engine(DATABASE_URL, connect_args=connect_args)"
DELETE_DECORATOR = '@app.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)'
DELETE_ANSWER = "    return Response(status_code=status.HTTP_204_NO_CONTENT)"
FIND_404 = 'raise HTTPException(status_code=404, detail=f"Note {note_id} not found")'
LIST_ROUTE = (
    "def list_notes(db: SessionDep) -> list[NotePublic]:\n"
    "    notes = db.scalars(select(Note).order_by(Note.id))\n"
    "    return [NotePublic.model_validate(note) for note in notes]"
)
CREATE_ROUTE = (
    "def create_note(body: NoteCreate, db: SessionDep) -> NotePublic:\n"
    "    note = Note(**body.model_dump())\n    db.add(note)\n    db.commit()\n"
    "    db.refresh(note)\n    return NotePublic.model_validate(note)"
)

VARIANTS += [
    Variant("first-id-two", 3, S3, {"main.py": NEXT_ID_TWO},
            first_failure="test_first_note_gets_id_one", says=("got id 2",), alone=True),
    Variant("sample-note-at-start", 4, S4, {"main.py": [("notes_db: dict[int, str] = {}", "notes_db: dict[int, str] = {0: 'welcome'}")]},
            first_failure="test_no_notes_at_first", says=("nobody added",), alone=True),
    Variant("sample-row-in-new-table", 5, S5, {"db.py": [SAMPLE_ROW]},
            first_failure="test_add_and_list", says=("On a fresh folder", "nobody added"), alone=True),
    Variant("rowid-without-autoincrement", 5, S5, {"db.py": PLAIN_ROWID},
            first_failure="test_ids_are_not_reused", says=("without AUTOINCREMENT", "newest note"),
            hint_says=("AUTOINCREMENT", "delete notes.db"), alone=True),
    Variant("ids-max-plus-one", 5, S5, {"db.py": MAX_PLUS_ONE},
            first_failure="test_ids_are_not_reused", says=("without AUTOINCREMENT",), alone=True),
    Variant("url-read-engine-hard-coded", 6, S6, {"database.py": [(ENGINE, 'engine = create_engine("sqlite:///notes.db", connect_args=connect_args)')]},
            first_failure="test_engine_from_database_url", says=("DATABASE_URL=sqlite:///elsewhere-", "it used notes.db instead of elsewhere-"),
            hint_says=("create_engine()",), alone=True),
    Variant("url-only-printed", 6, S6,
            {"database.py": [(f"DATABASE_URL = {URL}", 'print("database:", os.getenv("DATABASE_URL"))\nDATABASE_URL = "sqlite:///notes.db"')]},
            first_failure="test_engine_from_database_url", says=("it used notes.db instead of elsewhere-",), alone=True),
    Variant("default-not-notes-db", 6, S6, {"database.py": [(URL, 'os.environ.get("DATABASE_URL", "sqlite:///data.db")')]},
            first_failure="test_engine_from_database_url", says=("never made notes.db", "data.db")),
    Variant("session-dependency-closes-outside-finally", 6, S6,
            {"main.py": [("def get_db()", "def open_session()"), ("Depends(get_db)", "Depends(open_session)"),
                         (GET_DB, "    db = SessionLocal()\n    yield db\n    db.close()\n")]},
            first_failure="test_sessions_are_closed", says=("open_session in main.py", "`finally:`"),
            alone=True),
    Variant("create-answers-id-only", 7, S7,
            {"main.py": [(CREATE_ROUTE, CREATE_ROUTE.replace("-> NotePublic", "-> dict[str, int]")
                          .replace("return NotePublic.model_validate(note)", 'return {"id": note.id}'))]},
            first_failure="test_create_answers_201", says=("lacks text, pinned, created_at",), alone=True),
    Variant("delete-answers-200", 7, S7,
            {"main.py": [(DELETE_DECORATOR, '@app.delete("/notes/{note_id}")'),
                         (DELETE_ANSWER, "    return Response(status_code=200)")]},
            first_failure="test_delete", says=("answered 200", "204 No Content"), hint_says=("status_code=204",),
            alone=True),
    Variant("delete-answers-the-note", 7, S7,
            {"main.py": [(DELETE_DECORATOR, '@app.delete("/notes/{note_id}")'),
                         ("def delete_note(note_id: int, db: SessionDep) -> Response:\n    db.delete(find_note(db, note_id))",
                          "def delete_note(note_id: int, db: SessionDep) -> NotePublic:\n    note = find_note(db, note_id)\n    db.delete(note)"),
                         (DELETE_ANSWER, "    return NotePublic.model_validate(note)")]},
            first_failure="test_delete", says=("answered 200",), alone=True),
    Variant("list-wrapped-in-object", 7, S7,
            {"main.py": [(LIST_ROUTE, LIST_ROUTE.replace("-> list[NotePublic]", "-> dict[str, list[NotePublic]]")
                          .replace("return [NotePublic.model_validate(note) for note in notes]",
                                   'return {"notes": [NotePublic.model_validate(note) for note in notes]}'))]},
            first_failure="test_list_and_read_one", says=("JSON array",), alone=True),
    Variant("put-answers-202", 7, S7, {"main.py": [('@app.put("/notes/{note_id}")', '@app.put("/notes/{note_id}", status_code=202)')]},
            first_failure="test_update", says=("202",), alone=True),
    Variant("not-found-default-detail", 7, S7, {"main.py": [(FIND_404, "raise HTTPException(status_code=404)")]},
            first_failure="test_list_and_read_one", says=("FastAPI's own", "no route at all"),
            hint_says=('detail=f"Note {note_id} not found"',)),
    Variant("not-found-without-the-id", 7, S7, {"main.py": [(FIND_404, 'raise HTTPException(status_code=404, detail="Note not found")')]},
            first_failure="test_list_and_read_one", says=("'Note not found'", "'Note 987654 not found'", "naming the id"),
            hint_says=("f\"Note {note_id} not found\"",)),
    Variant("not-found-other-words", 7, S7, {"main.py": [(FIND_404, 'raise HTTPException(status_code=404, detail="No such note")')]},
            first_failure="test_list_and_read_one", says=("'No such note'",)),
]

BOM = {"main.py": "utf-8-sig", "db.py": "utf-8-sig", "database.py": "utf-8-sig", "models.py": "utf-8-sig"}
LATIN1 = "# -*- coding: latin-1 -*-\n# Notizen für später\n"

# Other correct styles: each must get full marks.
SQL_KEPT_APART = {  # the SQL in a module of its own and a class body, run by a helper
    "queries.py": 'CREATE = """\nCREATE TABLE IF NOT EXISTS notes (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n'
                  '    text TEXT NOT NULL\n)\n"""\n',
    "db.py": (
        "import sqlite3\nimport textwrap\n\nimport queries\n\n\ndef run(sql, params=()):\n"
        "    conn = sqlite3.connect('notes.db')\n    try:\n        with conn:\n"
        "            cursor = conn.execute(textwrap.dedent(sql), params)\n            return cursor.lastrowid, cursor.fetchall()\n    finally:\n        conn.close()\n\n\n"
        "class Notes:\n    INSERT = 'INSERT INTO notes (text) VALUES (?)'\n\n"
        "    def add(self, text):\n        return run(self.INSERT, (text,))[0]\n\n\n"
        "def create_table():\n    run(queries.CREATE)\n\n\ndef insert_note(text):\n    return Notes().add(text)\n\n\n"
        "def all_notes():\n    return dict(run('SELECT id, text FROM notes ORDER BY id')[1])\n"
    ),
}

LEGACY_ORM = {  # declarative_base and Column, db.query, on_event, async routes, the session from deps.py
    "database.py": (
        "import os\nfrom pathlib import Path\n\nfrom sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import declarative_base, sessionmaker\n\n"
        "HERE = Path(__file__).resolve().parent\n"
        "URL = os.getenv('DATABASE_URL', f\"sqlite:///{HERE / 'notes.db'}\")\n"
        "engine = create_engine(URL, connect_args={'check_same_thread': False})\n"
        "SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)\nBase = declarative_base()\n"
    ),
    "models.py": (
        "from sqlalchemy import Column, DateTime, Integer, String\nfrom sqlalchemy.sql import func\n\n"
        "from database import Base\n\n\nclass Note(Base):\n    __tablename__ = 'notes'\n"
        "    __table_args__ = {'sqlite_autoincrement': True}\n    id = Column(Integer, primary_key=True, index=True)\n"
        "    text = Column(String(500), nullable=False)\n"
        "    created_at = Column(DateTime(timezone=True), server_default=func.now())\n"
    ),
    "deps.py": (
        "from database import SessionLocal\n\n\ndef get_session():\n    session = SessionLocal()\n"
        "    try:\n        yield session\n    finally:\n        session.close()\n"
    ),
    "main.py": (
        "from fastapi import Depends, FastAPI\nfrom sqlalchemy.orm import Session\n\nimport deps\nimport models\n"
        "from database import engine\nfrom schemas import NoteCreate\n\napp = FastAPI()\n\n\n"
        "@app.on_event('startup')\nasync def startup():\n    models.Base.metadata.create_all(bind=engine)\n\n\n"
        "@app.post('/add_note')\nasync def add_note(note: NoteCreate, db: Session = Depends(deps.get_session)):\n"
        "    row = models.Note(text=note.text)\n    db.add(row)\n    db.commit()\n    db.refresh(row)\n"
        "    return {'id': row.id}\n\n\n@app.get('/notes')\n"
        "async def list_notes(db: Session = Depends(deps.get_session)):\n"
        "    return {n.id: n.text for n in db.query(models.Note).order_by(models.Note.id).all()}\n"
    ),
}

CORRECT = [
    Variant("add-note-answers-201", 3, S3, {"main.py": [('@app.post("/add_note")', '@app.post("/add_note", status_code=201)')]}),
    Variant("bom-step-3", 3, S3, encodings=BOM),
    Variant("stores-with-update", 3, S3,
            {"main.py": [("    notes_db[note_id] = note.text\n", "    notes_db.update({note_id: note.text})\n")]}),
    Variant("coding-line-step-4", 4, S4, {"main.py": [('"""Notes API', LATIN1 + '"""Notes API')]},
            encodings={"main.py": "latin-1"}),
    Variant("bom-step-5", 5, S5, encodings=BOM),
    Variant("coding-line-step-5", 5, S5, {"db.py": [('"""The notes table', LATIN1 + '"""The notes table')]},
            encodings={"db.py": "latin-1"}),
    Variant("lowercase-autoincrement", 5, S5, {"db.py": [("AUTOINCREMENT", "autoincrement")]}),
    Variant("sql-kept-apart-and-run-by-a-helper", 5, S5, files=SQL_KEPT_APART),
    Variant("named-placeholder-with-a-dict", 5, S5, {"db.py": [
        ('"INSERT INTO notes (text) VALUES (?)", (text,)', '"INSERT INTO notes (text) VALUES (:text)", {"text": text}')]}),
    Variant("numbered-placeholder", 5, S5, {"db.py": [
        ('"INSERT INTO notes (text) VALUES (?)", (text,)', '"INSERT INTO notes (text) VALUES (?1)", [text]')]}),
    Variant("at-sign-placeholder", 5, S5, {"db.py": [
        ('"INSERT INTO notes (text) VALUES (?)", (text,)', '"INSERT INTO notes (text) VALUES (@text)", dict(text=text)')]}),
    Variant("bom-step-6", 6, S6, encodings=BOM),
    Variant("url-from-os-import-environ", 6, S6,
            {"database.py": [("import os\n", "from os import environ\n"), (URL, 'environ.get("DATABASE_URL", "sqlite:///notes.db")')]}),
    Variant("url-from-getenv", 6, S6,
            {"database.py": [("import os\n", "from os import getenv\n"), (URL, 'getenv("DATABASE_URL") or "sqlite:///./notes.db"')]}),
    Variant("url-from-environ-index", 6, S6,
            {"database.py": [(URL, 'os.environ["DATABASE_URL"] if "DATABASE_URL" in os.environ else "sqlite:///notes.db"')]}),
    Variant("session-dependency-renamed", 6, S6,
            {"main.py": [("def get_db()", "def get_session()"), ("Depends(get_db)", "Depends(get_session)")]}),
    Variant("session-dependency-with-block", 6, S6,
            {"main.py": [(GET_DB, "    with SessionLocal() as db:\n        yield db\n")]}),
    Variant("legacy-orm-session-from-deps", 6, S6, files=LEGACY_ORM),
    Variant("bom-step-7", 7, S7, encodings=BOM),
    Variant("not-found-with-full-stop", 7, S7, {"main.py": [(FIND_404, FIND_404.replace("not found", "not found."))]}),
    Variant("delete-returns-none", 7, S7,
            {"main.py": [("-> Response:\n", "-> None:\n"), (DELETE_ANSWER + "\n", "")]}),
]

S8 = "08-schema-change"
UPGRADE = "    migrations.upgrade(engine)\n"
ALEMBIC_UPGRADE = '    command.upgrade(Config(ALEMBIC_INI), "head")  # each revision this database lacks, in order\n'
ALEMBIC_IMPORTS = "from alembic import command\nfrom alembic.config import Config\nfrom database import SessionLocal\n"
ALTER_IMPORTS = "import migrations\nfrom database import Base, SessionLocal, engine\n"
ALTER_8 = '''"""Bring a database made by an older version of the app up to the models, keeping every row.

create_all() only makes tables that are missing; it never changes one that exists. Each
change to an existing table is therefore written here once, and applied at startup when
the database does not have it yet.
"""

from sqlalchemy import Engine, inspect, text

ADDED_COLUMNS = {
    ("notes", "priority"): "ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
}


def upgrade(engine: Engine) -> list[str]:
    """Apply every change the database lacks, in one transaction; return what was applied."""
    inspector = inspect(engine)
    applied = []
    with engine.begin() as conn:
        for (table, column), statement in ADDED_COLUMNS.items():
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                conn.execute(text(statement))
                applied.append(f"{table}.{column}")
    return applied
'''
ALTER_9 = ALTER_8.replace(
    "DEFAULT 0\",\n",
    "DEFAULT 0\",\n"
    '    ("notes", "owner_id"): "ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)",\n',
)
ALTER_MIGRATIONS = {8: ALTER_8, 9: ALTER_9}


def alter_table_style(step: int, base: str) -> Variant:
    """The reference with the accepted alternative to Alembic: create_all, then an ALTER TABLE at
    startup for each column the table lacks (migrations.py), and no Alembic files."""
    return Variant(f"alter-table-at-startup-{step}", step, base,
                   {"main.py": [(ALEMBIC_IMPORTS, ALTER_IMPORTS),
                                (ALEMBIC_UPGRADE, "    Base.metadata.create_all(engine)\n" + UPGRADE)]},
                   files={"migrations.py": ALTER_MIGRATIONS[min(step, 9)]},
                   removed=("alembic.ini", "migrations"))


ALTER8 = alter_table_style(8, S8)
COUNT_ROUTE = (Path(SOLUTIONS / S8 / "main.py").read_text(encoding="utf-8")
               .split('@app.get("/notes/count")')[1].split("\n\n\n")[0])
COUNT_ROUTE = '@app.get("/notes/count")' + COUNT_ROUTE + "\n\n\n"
READ_ROUTE = '@app.get("/notes/{note_id}")\ndef read_note(note_id: int, db: SessionDep) -> NotePublic:\n' \
    "    return NotePublic.model_validate(find_note(db, note_id))\n\n\n"
ALWAYS_ALTER = """from sqlalchemy import Engine, text


def upgrade(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0"))
"""

VARIANTS += [
    Variant("no-migration", 8, ALTER8, {"main.py": [(UPGRADE, "")]},
            first_failure="test_old_rows_survive_the_upgrade", says=("no such column",),
            hint_says=("ALTER TABLE",)),
    Variant("drop-and-recreate", 8, ALTER8, {"main.py": [(UPGRADE, "    Base.metadata.drop_all(engine)\n    Base.metadata.create_all(engine)\n")]},
            first_failure="test_old_rows_survive_the_upgrade", says=("were gone",)),
    Variant("migration-always-runs", 8, ALTER8,
            {"main.py": [("    Base.metadata.create_all(engine)\n    migrations.upgrade(engine)\n",
                          ("    if inspect(engine).has_table(\"notes\"):\n        migrations.upgrade(engine)\n"
                           "    Base.metadata.create_all(engine)\n")),
                         ("from sqlalchemy import func, select", "from sqlalchemy import func, inspect, select")]},
            files={"migrations.py": ALWAYS_ALTER},
            first_failure="test_upgraded_database_restarts", says=("second start", "duplicate column"),
            hint_says=("already there",)),
    Variant("count-after-id-route", 8, S8, {"main.py": [(COUNT_ROUTE, ""), (READ_ROUTE, READ_ROUTE + COUNT_ROUTE)]},
            first_failure="test_count", says=("422",), hint_says=("above",)),
]

# Step 8's replays of steps 6 and 7 (found by benchmarks/mutants.py): each mistake costs its replay alone.
COMMIT_8 = "        setattr(note, field, value)\n    db.commit()\n"
DELETE_8 = "    db.delete(find_note(db, note_id))\n    db.commit()\n"
VARIANTS += [
    Variant("step8-pinned-by-default", 8, S8, {"schemas.py": [("    pinned: bool = False\n", "    pinned: bool = True\n")]},
            first_failure="test_create_answers_201", says=("without pinned",), alone=True),
    Variant("step8-read-one-gone", 8, S8, {"main.py": [(READ_ROUTE, "")]},
            first_failure="test_list_and_read_one", says=("GET /notes/",), alone=True),
    Variant("step8-not-found-without-detail", 8, S8, {"main.py": [(FIND_404, "raise HTTPException(status_code=404)")]},
            first_failure="test_list_and_read_one", says=("Not Found",)),
    Variant("step8-put-never-commits", 8, S8, {"main.py": [(COMMIT_8, COMMIT_8.replace("    db.commit()\n", ""))]},
            first_failure="test_update", says=("still shows",), hint_says=("db.commit()",)),
    Variant("step8-delete-never-commits", 8, S8, {"main.py": [(DELETE_8, DELETE_8.replace("    db.commit()\n", ""))]},
            first_failure="test_delete", says=("still lists",), hint_says=("db.commit()",)),
    Variant("step8-validation-gone", 8, S8,
            {"schemas.py": [("    text: str = Field(min_length=1, max_length=500)\n", "    text: str\n")]},
            first_failure="test_bad_input_is_refused", says=("422",), alone=True),
    Variant("step8-sessions-never-closed", 8, S8, {"main.py": [(GET_DB, "    db = SessionLocal()\n    yield db\n")]},
            first_failure="test_sessions_are_closed", hint_says=("finally",), alone=True),
    Variant("step8-database-url-ignored", 8, S8,
            {"database.py": [(URL, '"sqlite:///notes.db"')]},
            first_failure="test_changes_survive_a_restart", says=("DATABASE_URL=sqlite:///elsewhere-",), alone=True),
    Variant("step8-ids-reused", 8, S8,
            {"migrations/versions/0001_notes_table.py": [("        sqlite_autoincrement=True,\n", "")]},
            first_failure="test_changes_survive_a_restart", says=("new note got id",), alone=True),
]

S9 = "09-relations-and-transactions"
REVISION_0003 = "migrations/versions/0003_users_and_owners.py"  # users and owner_id
ALTER9 = alter_table_style(9, S9)
PRAGMA = (
    'if engine.dialect.name == "sqlite":\n\n    @event.listens_for(engine, "connect")\n'
    "    def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:\n"
    '        dbapi_connection.execute("PRAGMA foreign_keys = ON")\n'
)
IMPORT_ONCE = (
    "    db.add_all(notes)\n"
    '    commit_or_409(db, "An owner_id does not exist; no note was imported")\n'
)
IMPORT_EACH = (
    "    for note in notes:\n        db.add(note)\n"
    '        commit_or_409(db, "An owner_id does not exist; the import stopped")\n'
)

VARIANTS += [
    Variant("foreign-keys-off", 9, S9, {"database.py": [(PRAGMA, "")]},
            first_failure="test_no_orphan_notes", says=("orphan",), hint_says=("PRAGMA foreign_keys = ON",)),
    Variant("commit-per-imported-note", 9, S9, {"main.py": [(IMPORT_ONCE, IMPORT_EACH)]},
            first_failure="test_import_is_all_or_nothing", says=("saved anyway",), hint_says=("commit once",)),
]

VARIANTS += [
    Variant("delete-user-sets-owner-null", 9, S9,  # the table is the revision's: the model alone changes nothing
            {"models.py": [('ForeignKey("users.id")', 'ForeignKey("users.id", ondelete="SET NULL")')],
             "migrations/versions/0003_users_and_owners.py": [("REFERENCES users (id)", "REFERENCES users (id) ON DELETE SET NULL")]},
            first_failure="test_deleting_a_user_with_notes", says=("owner_id null", "lost its owner"),
            hint_says=("409",)),
    Variant("delete-user-cascades", 9, S9,
            {"models.py": [('ForeignKey("users.id")', 'ForeignKey("users.id", ondelete="CASCADE")')],
             "migrations/versions/0003_users_and_owners.py": [("REFERENCES users (id)", "REFERENCES users (id) ON DELETE CASCADE")]},
            first_failure="test_deleting_a_user_with_notes", says=("deleted along with the user",)),
    Variant("drop-users-and-notes-at-shutdown", 9, ALTER9, {"main.py": DROP_AT_SHUTDOWN},
            first_failure="test_notes_survive_a_graceful_restart", says=("SIGTERM", "survived a SIGKILL")),
]

S10 = "10-postgresql"
ALTER10 = alter_table_style(10, S10)

VARIANTS += [
    Variant("pragma-on-postgres", 10, S10,
            {"database.py": [('if engine.dialect.name == "sqlite":\n\n    @event', 'if True:\n\n    @event')]},
            first_failure="test_tables_are_on_postgres", says=("did not start", "PRAGMA"),
            hint_says=("dialect.name",)),
]

S11_REFERENCE = "11-ship-it"
CHAIN_CMD = 'CMD ["sh", "-c", "alembic upgrade head && exec uvicorn main:app --host 0.0.0.0 --port 8000"]'
CMD_EXEC = 'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]'
NO_LIFESPAN = (
    "from collections.abc import Iterator\nfrom typing import Annotated\n\nfrom database import SessionLocal\n",
    (
        "# The tables are brought up to date before the server starts, once (`alembic upgrade head` in the\n"
        "# Dockerfile's CMD), not by each of its workers as it starts.\napp = FastAPI()\n"
    ),
)
LIFESPAN = (
    "from collections.abc import AsyncIterator, Iterator\nfrom contextlib import asynccontextmanager\n"
    "from pathlib import Path\nfrom typing import Annotated\n\n" + ALEMBIC_IMPORTS,
    'ALEMBIC_INI = Path(__file__).with_name("alembic.ini")\n\n\n@asynccontextmanager\n'
    "async def lifespan(app: FastAPI) -> AsyncIterator[None]:\n" + ALEMBIC_UPGRADE + "    yield\n\n\n"
    "app = FastAPI(lifespan=lifespan)\n",
)
# Step 11 as step 10 left it: the app upgrades its database as it starts, the image only serves it.
S11 = Variant("upgrade-at-app-start", 11, S11_REFERENCE,
              {"main.py": list(zip(NO_LIFESPAN, LIFESPAN)), "Dockerfile": [(CHAIN_CMD, CMD_EXEC)]})
ALTER11 = alter_table_style(11, S11)

VARIANTS += [
    Variant("unpinned-requirement", 11, S11, {"requirements.txt": [("sqlalchemy==2.1.9", "sqlalchemy>=2.0")]},
            first_failure="test_requirements_are_pinned", says=("sqlalchemy>=2.0",), hint_says=("==",)),
    Variant("settings-hard-coded", 11, S11,
            {"config.py": [('os.environ.get("DATABASE_URL", "sqlite:///notes.db")', '"sqlite:///notes.db"')]},
            first_failure="test_health_needs_the_database",
            says=("does not take its database from the environment",), hint_says=("DATABASE_URL",)),
    Variant("reload-in-production", 11, S11, {"Dockerfile": [('"--port", "8000"]', '"--port", "8000", "--reload"]')]},
            first_failure="test_dockerfile", says=("--reload",)),
    Variant("password-in-code", 11, S11,
            {"Dockerfile": [("EXPOSE 8000\n", "EXPOSE 8000\nENV DATABASE_URL=postgresql://notes:hunter2@db/notes\n")]},
            first_failure="test_nothing_baked_in", says=("password inside a database URL",)),
]

HEALTH_QUERY = "        db.execute(select(Note.id).limit(1))  # reads the file; SQLite answers SELECT 1 without it\n"
CMD_END = '"--port", "8000"]'

VARIANTS += [
    Variant("health-always-ok", 11, S11,
            {"main.py": [(HEALTH_QUERY, "        pass\n")]},
            first_failure="test_health_needs_the_database", says=("still answered 200", "header"),
            hint_says=("503",)),
    Variant("health-select-one", 11, S11,
            {"main.py": [(HEALTH_QUERY, '        db.execute(text("SELECT 1"))\n'),
                         ("from sqlalchemy import func, select\n", "from sqlalchemy import func, select, text\n")]},
            first_failure="test_health_needs_the_database", says=("still answered 200",),
            hint_says=("SELECT 1",)),
    Variant("cmd-unknown-option", 11, S11, {"Dockerfile": [(CMD_END, '"--port", "8000", "--no-such-flag"]')]},
            first_failure="test_production_command_serves", says=("did not start the app: Error: No such option '--no-such-flag'",)),
    Variant("cmd-shell-form-bad-value", 11, S11,
            {"Dockerfile": [('CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]',
                             "CMD uvicorn main:app --host 0.0.0.0 --port 8000 --workers two")]},
            first_failure="test_production_command_serves", says=("did not start", "--workers", "'two'")),
    Variant("absolute-db-file", 11, S11, {"config.py": [("\n\n@dataclass", '\nDB_FILE = "/var/tmp/notes.db"\n\n\n@dataclass')]},
            first_failure="test_nothing_baked_in", says=("config.py line 6", "an absolute path", "/var/tmp/notes.db")),
    Variant("api-key-in-image", 11, S11, {"Dockerfile": [("EXPOSE 8000\n", "EXPOSE 8000\nENV API_KEY=abc123\n")]},
            first_failure="test_nothing_baked_in", says=("Dockerfile line 9", "API_KEY")),
]

FORGED_FACTS = (
    '{"stage": "facts", "names": {'
    '"notes_db": {"type": "builtins.dict", "mro": ["builtins.dict", "builtins.object"], '
    '"genuine": ["builtins.dict"], "dict_len": 0, "is_fastapi": false}, '
    '"next_id": {"type": "builtins.int", "mro": ["builtins.int", "builtins.object"], '
    '"genuine": ["builtins.int"], "int_value": 1, "is_fastapi": false}, '
    '"app": {"type": "fastapi.applications.FastAPI", "mro": ["fastapi.applications.FastAPI"], '
    '"genuine": ["fastapi.applications.FastAPI"], "is_fastapi": true}}}'
)
FORGER = (
    "import os\n\napp = 'x'\n"
    f"for fd in range(3, 64):\n    try:\n        os.write(fd, b{FORGED_FACTS + chr(10)!r})\n"
    "    except OSError:\n        pass\n"
)
DRIP = (
    "def drip():\n    while True:\n        yield b' '\n        time.sleep(0.5)\n\n\n"
    '@app.post("/add_note")\ndef add_note(note: NoteIn) -> StreamingResponse:\n'
    "    return StreamingResponse(drip())\n"
)
FAKE_FASTAPI = "class FastAPI:\n    pass\n\n\nFastAPI.__module__ = 'fastapi.applications'\napp = FastAPI()"
DRIP_IMPORTS = "import time\n\nfrom fastapi.responses import StreamingResponse\nfrom pydantic import BaseModel"

VARIANTS += [
    Variant("fastapi-monkeypatched", 2, S2,
            {"main.py": [("app = FastAPI()", "import fastapi\n\napp = 'x'\nfastapi.FastAPI = object")]},
            first_failure="test_app_is_fastapi", says=("not a FastAPI application", "line 7")),
    Variant("fake-fastapi-class", 2, S2,
            {"main.py": [("app = FastAPI()", FAKE_FASTAPI)]},
            first_failure="test_app_is_fastapi", says=("not a FastAPI application",)),
    Variant("forged-status-line", 2, S2, {"main.py": [("app = FastAPI()", FORGER)]},
            first_failure="test_app_is_fastapi", says=("not a FastAPI application",)),
    Variant("drips-forever", 3, S3,
            {"main.py": [("from pydantic import BaseModel", DRIP_IMPORTS),
                         ('@app.post("/add_note")', DRIP + '\n\n@app.post("/unused")')]},
            first_failure="test_first_note_gets_id_one", says=("no answer within",)),
]

VARIANTS += [
    Variant("tables-dropped-at-startup", 11, ALTER11,
            {"main.py": [("    Base.metadata.create_all(engine)\n",
                          "    Base.metadata.drop_all(engine)\n    Base.metadata.create_all(engine)\n")]},
            first_failure="test_notes_survive_a_crash", says=("killed",)),
]

PEEK_AND_FORGE = '''
import json
import os
import socket
import sys
import types

# pose as the grader's child module, then tell the grader every fact and a ready server
sys.modules["grader.engine.child"] = types.ModuleType("grader.engine.child")
FACTS = {"notes_db": {"type": "builtins.dict", "genuine": ["builtins.dict"], "dict_len": 0},
         "next_id": {"type": "builtins.int", "genuine": ["builtins.int"], "int_value": 1},
         "app": {"type": "fastapi.applications.FastAPI", "is_fastapi": True,
                 "genuine": ["fastapi.applications.FastAPI"]}}
for fd in range(3, 64):
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        continue
    try:
        token = sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT).decode().strip()
    except OSError:
        continue
    for line in ({"stage": "facts", "names": FACTS}, {"stage": "ready"}):
        try:
            os.write(fd, (json.dumps({**line, "token": token}) + "\\n").encode())
        except OSError:
            pass
'''
STEP1_FORGER = PEEK_AND_FORGE + "\nnotes_db = []\nnext_id = '1'\n"
STEP2_FORGER = "from fastapi import FastAPI\n" + STEP1_FORGER + "application = FastAPI()\n"
FORGERS = [
    Variant("forges-facts-step-1", 1, S1, files={"main.py": STEP1_FORGER},
            first_failure="test_notes_db_is_empty_dict", says=("a list",)),
    Variant("forges-facts-step-2", 2, S2, files={"main.py": STEP2_FORGER},
            first_failure="test_app_is_fastapi"),
]
TOP = "notes_db: dict[int, str] = {}\nnext_id = 1"
VARIANTS += FORGERS + [
    Variant("notes-db-rebound", 1, S1, {"main.py": [(TOP, TOP + "\n\nnotes_db = []")]},
            first_failure="test_notes_db_is_empty_dict", says=("changed again at main.py line 6",)),
    Variant("notes-db-filled-after", 1, S1, {"main.py": [(TOP, TOP + "\nnotes_db[1] = 'test'")]},
            first_failure="test_notes_db_is_empty_dict", says=("changed again", "notes_db[1] = 'test'")),
    Variant("notes-db-updated", 1, S1, {"main.py": [(TOP, TOP + "\nnotes_db.update({1: 'x'})")]},
            first_failure="test_notes_db_is_empty_dict", says=("changed again",)),
    Variant("notes-db-dict-call-filled", 1, S1, {"main.py": [("= {}", "= dict(first='x')")]},
            first_failure="test_notes_db_is_empty_dict", says=("starts with entries",)),
    Variant("notes-db-in-a-block", 1, S1, {"main.py": [("notes_db: dict[int, str] = {}", "if True:\n    notes_db = {}")]},
            first_failure="test_notes_db_is_empty_dict", says=("top level",)),
    Variant("notes-db-dict-redefined", 1, S1, {"main.py": [("notes_db: dict[int, str] = {}", "dict = list\nnotes_db = dict()")]},
            first_failure="test_notes_db_is_empty_dict", says=("redefines",)),
    Variant("next-id-float", 1, S1, {"main.py": [("next_id = 1", "next_id = 1.0")]},
            first_failure="test_next_id_starts_at_one", says=("`1.0`", "whole number")),
    Variant("next-id-counted-up", 1, S1, {"main.py": [(TOP, TOP + "\nnext_id += 1")]},
            first_failure="test_next_id_starts_at_one", says=("changed again",)),
    Variant("app-is-starlette", 2, S2,
            {"main.py": [("from fastapi import FastAPI", "from starlette.applications import Starlette"),
                         ("app = FastAPI()", "app = Starlette()")]},
            first_failure="test_app_is_fastapi", says=("not as a FastAPI application", "/openapi.json answered 404")),
    Variant("app-raises-at-import", 2, S2, {"main.py": [("app = FastAPI()", "app = FastAPI()\nraise ValueError('half done')")]},
            first_failure="test_app_is_fastapi", says=("ValueError", "main.py line 6")),
]
# ---- Steps 8 and 9 (issue 11 parts 4-5): verdicts that follow the contract, fair partial credit.
REBUILD_MIGRATION = """from sqlalchemy import Engine, inspect, text


def upgrade(engine: Engine) -> None:
    if "priority" in {c["name"] for c in inspect(engine).get_columns("notes")}:
        return
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, text VARCHAR(500) NOT NULL, "
            "pinned BOOLEAN NOT NULL DEFAULT 0, priority INTEGER NOT NULL DEFAULT 0, "
            "created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        ))
        conn.execute(text(
            "INSERT INTO notes_new (id, text, pinned, created_at) SELECT id, text, pinned, created_at FROM notes"
        ))
        conn.execute(text("DROP TABLE notes"))
        conn.execute(text("ALTER TABLE notes_new RENAME TO notes"))
"""
TABLE_INFO_MIGRATION = """from sqlalchemy import Engine


def upgrade(engine: Engine) -> None:
    with engine.begin() as conn:
        columns = [row[1] for row in conn.exec_driver_sql("PRAGMA table_info(notes)")]
        if "priority" not in columns:
            conn.exec_driver_sql("ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
"""
PRAGMA_ONCE = (
    'if engine.dialect.name == "sqlite":\n    with engine.connect() as conn:\n'
    '        conn.exec_driver_sql("PRAGMA foreign_keys = ON")\n'
)
PRAGMA_BY_CURSOR = (
    "def _foreign_keys_on(dbapi_connection: Any, connection_record: Any) -> None:\n"
    "    cursor = dbapi_connection.cursor()\n"
    '    cursor.execute("PRAGMA foreign_keys=ON")\n'
    "    cursor.close()\n\n\n"
    'if DATABASE_URL.startswith("sqlite"):\n    event.listen(engine, "connect", _foreign_keys_on)\n'
)
NOTE_BY_FK = (
    "    note = Note(**body.model_dump())\n    db.add(note)\n"
    '    commit_or_409(db, f"User {body.owner_id} does not exist")\n'
)
NOTE_BY_LOOKUP = (
    "    if db.get(User, body.owner_id) is None:\n"
    '        raise HTTPException(status_code=404, detail=f"No user {body.owner_id}")\n'
    "    note = Note(**body.model_dump())\n    db.add(note)\n"
    '    commit_or_409(db, f"User {body.owner_id} does not exist")\n'
)
NOTE_TABLE_ARGS = (
    'class Note(Base):\n    __tablename__ = "notes"\n'
    '    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}\n'
)
DELETE_NOTE_204 = (
    "    db.delete(find_note(db, note_id))\n    db.commit()\n"
    "    return Response(status_code=status.HTTP_204_NO_CONTENT)"
)
NO_201 = ", status_code=status.HTTP_201_CREATED)"

VARIANTS += [
    Variant("migration-rebuilds-table", 8, ALTER8, files={"migrations.py": REBUILD_MIGRATION},
            first_failure="test_upgrade_keeps_ids_unique", says=("given again", "sqlite_sequence"),
            hint_says=("ALTER TABLE notes ADD COLUMN",)),
    Variant("step8-create-answers-200", 8, S8, {"main.py": [('@app.post("/notes"' + NO_201, '@app.post("/notes")')]},
            first_failure="test_create_answers_201", says=("201 Created",)),
    Variant("fk-pragma-once-at-import", 9, S9, {"database.py": [(PRAGMA, PRAGMA_ONCE)]},
            first_failure="test_no_orphan_notes", says=("at once", "some connections only"),
            hint_says=('"connect"',)),
    Variant("fk-on-first-connect-only", 9, S9,
            {"database.py": [('@event.listens_for(engine, "connect")', '@event.listens_for(engine, "first_connect")')]},
            first_failure="test_no_orphan_notes", says=("some connections only", "first_connect")),
    Variant("owner-id-not-migrated", 9, ALTER9,
            {"migrations.py": [('    ("notes", "owner_id"): "ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)",\n', "")]},
            first_failure="test_step8_database_comes_forward", says=("step 8", "no such column: notes.owner_id"),
            hint_says=("migrations.py",)),
    Variant("step9-users-answer-200", 9, S9, {"main.py": [('@app.post("/users"' + NO_201, '@app.post("/users")')]},
            first_failure="test_users", says=("201",)),
    Variant("step9-missing-user-default-404", 9, S9,
            {"main.py": [('raise HTTPException(status_code=404, detail=f"User {user_id} not found")',
                          "raise HTTPException(status_code=404)")]},
            first_failure="test_users", says=("'Not Found'", "FastAPI's default", "user 987654")),
    Variant("step9-delete-user-default-409", 9, S9,
            {"main.py": [('commit_or_409(db, f"User {user_id} still owns notes; delete them first")',
                          'commit_or_409(db, "Conflict")')]},
            first_failure="test_deleting_a_user_with_notes", says=("'Conflict'", "should name user")),
    Variant("step9-import-answers-200", 9, S9,
            {"main.py": [('@app.post("/notes/import"' + NO_201, '@app.post("/notes/import")')]},
            first_failure="test_import_is_all_or_nothing", says=("201 Created",)),
    Variant("step9-create-note-answers-200", 9, S9, {"main.py": [('@app.post("/notes"' + NO_201, '@app.post("/notes")')]},
            first_failure="test_notes_still_created_and_read", says=("201 Created",)),
    Variant("step9-put-never-commits", 9, S9,
            {"main.py": [("        setattr(note, field, value)\n    db.commit()\n", "        setattr(note, field, value)\n")]},
            first_failure="test_notes_still_updated_and_deleted", says=("still shows",), hint_says=("db.commit()",)),
    Variant("step9-delete-answers-200", 9, S9,
            {"main.py": [(DELETE_NOTE_204, DELETE_NOTE_204.replace("status.HTTP_204_NO_CONTENT)", "200)"))]},
            first_failure="test_notes_still_updated_and_deleted", says=("answered 200",)),
    Variant("step9-ids-reused", 9, S9, {"models.py": [(NOTE_TABLE_ARGS, NOTE_TABLE_ARGS.splitlines(True)[0]
                                                      + NOTE_TABLE_ARGS.splitlines(True)[1])],
                                        "migrations/versions/0001_notes_table.py": [("        sqlite_autoincrement=True,\n", "")]},
            first_failure="test_changes_still_survive_a_restart", says=("new note got id",)),
    Variant("step9-pinned-ignored", 9, S9,
            {"main.py": [("    if pinned is not None:\n        query = query.where(Note.pinned == pinned)\n", "")]},
            first_failure="test_priority_filter_and_count_still_work", says=("?pinned=true",)),
    Variant("step9-count-wrong", 9, S9, {"main.py": [("unpinned=total - pinned", "unpinned=total")]},
            first_failure="test_priority_filter_and_count_still_work", says=("/notes/count",)),
    Variant("step9-validation-gone", 9, S9,
            {"schemas.py": [("    text: str = Field(min_length=1, max_length=500)\n", "    text: str\n")]},
            first_failure="test_bad_input_still_refused", says=("422",)),
    Variant("step9-sessions-never-closed", 9, S9, {"main.py": [(GET_DB, "    db = SessionLocal()\n    yield db\n")]},
            first_failure="test_sessions_still_closed", hint_says=("finally",)),
    # found by benchmarks/mutants.py
    Variant("step8-count-of-nothing-is-one", 8, S8, {"main.py": [(") or 0\n", ") or 1\n")]},
            first_failure="test_count", says=("With no notes at all",)),
    Variant("step9-no-pinned-counts-one", 9, S9, {"main.py": [(".where(Note.pinned)) or 0\n", ".where(Note.pinned)) or 1\n")]},
            first_failure="test_priority_filter_and_count_still_work", says=("With no notes at all",)),
    Variant("step9-database-url-ignored", 9, S9,
            {"database.py": [('os.environ.get("DATABASE_URL", "sqlite:///notes.db")', '"sqlite:///notes.db"')]},
            first_failure="test_changes_still_survive_a_restart", says=("DATABASE_URL=sqlite:///elsewhere-",)),
    Variant("step9-users-without-autoincrement", 9, S9,
            {"models.py": [('    __tablename__ = "users"\n    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}\n',
                            '    __tablename__ = "users"\n')],
             REVISION_0003: [("        sqlite_autoincrement=True,\n", "")]},
            first_failure="test_users", says=("users table in notes.db was made without AUTOINCREMENT",)),
    Variant("step9-empty-user-name", 9, S9,
            {"schemas.py": [("name: str = Field(min_length=1, max_length=100)", "name: str = Field(max_length=100)")]},
            first_failure="test_users", says=("a name of 0 characters",)),
    Variant("step9-one-letter-name-refused", 9, S9, {"schemas.py": [("name: str = Field(min_length=1,", "name: str = Field(min_length=2,")]},
            first_failure="test_users", says=("a name of 1 character answered",)),
    # every database, new or brought forward, gets owner_id from revision 0003: the orphan check
    # finds it first, and names the missing rule rather than the PRAGMA
    Variant("step9-migration-without-references", 9, S9, {REVISION_0003: [(" REFERENCES users (id)", "")]},
            first_failure="test_no_orphan_notes", says=("no foreign key to users at all",),
            hint_says=("REFERENCES users (id)",)),
]

LEFT_OPEN = (
    "    migrations.upgrade(engine)\n    app.state.db = SessionLocal()\n"
    "    app.state.db.add(User(name=\"admin\"))\n    app.state.db.flush()\n    yield\n"
)
COMMIT_OR_409 = (
    "    try:\n        db.commit()\n    except IntegrityError:\n        db.rollback()\n"
    "        raise HTTPException(status_code=409, detail=detail) from None\n"
)
BROKEN_PRAGMA = "    inspector = inspect(engine)\n    with engine.begin() as conn:\n        conn.exec_driver_sql(\"PRAGMA table_info notes\")\n"

VARIANTS += [  # feedback that names the cause
    Variant("write-lock-never-released", 9, ALTER9, {"main.py": [("    migrations.upgrade(engine)\n    yield\n", LEFT_OPEN)]},
            first_failure="test_users", says=("no answer within", "notes.db was locked for writing"),
            hint_says=("close every session", "busy timeout")),
    Variant("tables-dropped-at-every-start", 9, ALTER9, {"main.py": [(
        "    Base.metadata.create_all(engine)\n", "    Base.metadata.drop_all(engine)\n    Base.metadata.create_all(engine)\n")]},
            first_failure="test_failed_import_after_a_restart", says=("had been committed", "startup removed it"),
            hint_says=("drop tables",)),
    Variant("integrity-error-unhandled", 9, S9, {"main.py": [(COMMIT_OR_409, "    db.commit()\n")]},
            first_failure="test_no_orphan_notes", says=("500", "IntegrityError", "FOREIGN KEY"),
            hint_says=("db.rollback()", "409")),
    Variant("broken-pragma-in-migrations", 9, ALTER9, {"migrations.py": [("    inspector = inspect(engine)\n", BROKEN_PRAGMA)]},
            first_failure="test_users", says=("migrations.py line 20",), hint_says=("migrations.py line 20",)),
]

# Correct in another style: every check passes.
FULL_MARKS = [
    Variant("count-with-extra-keys", 8, S8,
            {"schemas.py": [("    unpinned: int\n", "    unpinned: int\n    high_priority: int = 0\n")]}),
    Variant("migration-by-table-info", 8, ALTER8, files={"migrations.py": TABLE_INFO_MIGRATION}),
    Variant("fk-listener-by-cursor-and-owner-lookup", 9, S9,
            {"database.py": [(PRAGMA, PRAGMA_BY_CURSOR)], "main.py": [(NOTE_BY_FK, NOTE_BY_LOOKUP)]}),
    Variant("fk-on-a-null-pool", 9, S9,
            {"database.py": [("from sqlalchemy.orm import", "from sqlalchemy.pool import NullPool\nfrom sqlalchemy.orm import"),
                             ("connect_args=connect_args)", "connect_args=connect_args, poolclass=NullPool)")]}),
]

# Wrong in one respect only: the named first failure is the only check that fails.
ALONE = ("step8-create-answers-200", "step9-users-answer-200", "step9-import-answers-200",
         "step9-missing-user-default-404")
# ---- end of steps 8 and 9

# ---- steps 10-11 (the contract of steps 7-9 on PostgreSQL; the Dockerfile read as Docker does) ----

COUNT_PINNED = "    pinned = db.scalar(select(func.count()).where(Note.pinned)) or 0\n"
COLUMNS_BY_INSPECT = '{c["name"] for c in inspector.get_columns(table)}'
COLUMNS_BY_PRAGMA = '{row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))}'

VARIANTS += [
    Variant("count-sums-a-boolean", 10, S10,
            {"main.py": [(COUNT_PINNED, "    pinned = db.scalar(select(func.sum(Note.pinned))) or 0\n")]},
            first_failure="test_count", says=("500", "sum(boolean) does not exist"),
            hint_says=("func.count()", "boolean")),
    Variant("migration-reads-columns-by-pragma", 10, ALTER10,
            {"migrations.py": [(COLUMNS_BY_INSPECT, COLUMNS_BY_PRAGMA)]},
            first_failure="test_tables_are_on_postgres", says=("did not start", "PRAGMA"),
            hint_says=("migrations.py line", "get_columns")),
    Variant("no-migration-on-postgres", 10, ALTER10, {"main.py": [(UPGRADE, "")]},
            first_failure="test_old_rows_survive_the_upgrade", says=("PostgreSQL database", "does not exist"),
            hint_says=("ALTER TABLE",)),
    Variant("text-length-left-to-postgres", 10, S10,
            {"schemas.py": [("Field(min_length=1, max_length=500)", "Field(min_length=1)")]},
            first_failure="test_bad_input_is_refused", says=("501 characters", "422")),
    Variant("pinned-filter-ignored-on-postgres", 10, S10,
            {"main.py": [("    if pinned is not None:\n        query = query.where(Note.pinned == pinned)\n", "")]},
            first_failure="test_filter_by_pinned", says=("?pinned=true",)),
    Variant("update-never-committed-on-postgres", 10, S10,
            {"main.py": [("        setattr(note, field, value)\n    db.commit()\n", "        setattr(note, field, value)\n")]},
            first_failure="test_update", says=("still shows",), hint_says=("db.commit()",)),
]

# Task 2 keeps SQLite's foreign keys for SQLite: seen only with the app on SQLite.
LISTENER = (
    'if engine.dialect.name == "sqlite":\n\n    @event.listens_for(engine, "connect")\n'
    "    def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:\n"
    '        dbapi_connection.execute("PRAGMA foreign_keys = ON")\n'
)
VARIANTS += [
    Variant(name, 10, S10, {"database.py": [(LISTENER, listener)]},
            first_failure="test_sqlite_still_enforces_foreign_keys",
            says=("DATABASE_URL=sqlite:///notes.db",), hint_says=("PRAGMA foreign_keys = ON",),
            alone=True)
    for name, listener in (
        ("sqlite-listener-dropped-for-postgres", ""),
        ("sqlite-foreign-keys-on-one-connection", ('if engine.dialect.name == "sqlite":\n'
         '    with engine.connect() as first:\n'
         '        first.exec_driver_sql("PRAGMA foreign_keys = ON")\n')),
    )
]

PSYCOPG = "psycopg[binary]==3.3.9\n"

VARIANTS += [
    Variant("fastapi-dev-in-the-image", 11, S11,
            {"Dockerfile": [(CMD_EXEC, 'CMD ["fastapi", "dev", "main.py", "--host", "0.0.0.0"]')],
             "requirements.txt": [("fastapi==", "fastapi[standard]==")]},
            first_failure="test_dockerfile", says=("fastapi dev", "reloads"), hint_says=("--reload",)),
    Variant("exec-form-port-variable", 11, S11, {"Dockerfile": [(CMD_EXEC, CMD_EXEC.replace('"8000"', '"$PORT"'))]},
            first_failure="test_dockerfile", says=("exec form", "'$PORT'"), hint_says=("shell form",)),
    Variant("shell-entrypoint-overrides-cmd", 11, S11, {"Dockerfile": [(CMD_EXEC, "ENTRYPOINT echo starting\n" + CMD_EXEC)]},
            first_failure="test_dockerfile", says=("`echo starting`", "not uvicorn")),
    Variant("gunicorn-with-its-wsgi-worker", 11, S11,
            {"Dockerfile": [(CMD_EXEC, "CMD gunicorn --bind 0.0.0.0:8000 main:app")],
             "requirements.txt": [("uvicorn==0.54.0\n", "uvicorn==0.54.0\ngunicorn==23.0.0\n")]},
            first_failure="test_dockerfile", says=("WSGI",), hint_says=("0.0.0.0",)),
    Variant("final-stage-without-cmd", 11, S11,
            {"Dockerfile": [("FROM python:3.12-slim\n", "FROM python:3.12-slim AS build\n"),
                            (CMD_EXEC, CMD_EXEC + "\n\nFROM python:3.12-slim\nCOPY --from=build /app /app")]},
            first_failure="test_dockerfile", says=("no CMD or ENTRYPOINT",)),
    Variant("dockerignore-lets-notes-db-back", 11, S11, {".dockerignore": [("*.db\n", "*.db\n!notes.db\n")]},
            first_failure="test_dockerfile", says=(".dockerignore", "notes.db")),
    Variant("requirements-without-the-driver", 11, S11, {"requirements.txt": [(PSYCOPG, "")]},
            first_failure="test_requirements_are_pinned", says=("does not list psycopg",)),
    Variant("requirements-with-psycopg2", 11, S11, {"requirements.txt": [(PSYCOPG, "psycopg2-binary==2.9.10\n")]},
            first_failure="test_requirements_are_pinned", says=("psycopg2 is the older driver",)),
    Variant("requirements-without-pydantic", 11, S11, {"requirements.txt": [("pydantic==2.14.3\n", "")]},
            first_failure="test_requirements_are_pinned", says=("schemas.py imports pydantic",)),
]

GUNICORN_CONF = 'bind = "0.0.0.0:8000"\nworker_class = "uvicorn.workers.UvicornWorker"\nworkers = 2\n'
PIP_COMPILED = (
    "#\n# This file is autogenerated by pip-compile with Python 3.12\n#\n"
    "alembic==1.20.1 \\\n    --hash=sha256:" + "6" * 64 + "\n"
    "fastapi==0.165.0 \\\n    --hash=sha256:" + "1" * 64 + "\n    # via -r requirements.in\n"
    "psycopg[binary]==3.3.9 ; python_version >= \"3.8\" \\\n    --hash=sha256:" + "2" * 64 + "\n"
    "pydantic==2.14.3 \\\n    --hash=sha256:" + "3" * 64 + "\n    # via fastapi\n"
    "sqlalchemy==2.1.9 \\\n    --hash=sha256:" + "4" * 64 + "\n"
    "uvicorn[standard]==0.54.0 \\\n    --hash=sha256:" + "5" * 64 + "\n"
)

# Correct step-11 submissions in other styles: each must get full marks.
FK_PRAGMA_11 = '        dbapi_connection.execute("PRAGMA foreign_keys = ON")\n'
CORRECT_STYLES = [
    Variant("gunicorn-with-a-config-file", 11, S11,
            {"Dockerfile": [(CMD_EXEC, 'CMD ["gunicorn", "main:app"]')],
             "requirements.txt": [("uvicorn==0.54.0\n", "uvicorn==0.54.0\ngunicorn==23.0.0\n")]},
            files={"gunicorn.conf.py": GUNICORN_CONF}),
    Variant("fastapi-run-from-fastapi-standard-in-a-start-script", 11, S11,
            {"Dockerfile": [(CMD_EXEC, 'ENTRYPOINT ["./start.sh"]')],
             "requirements.txt": [("fastapi==0.165.0", "fastapi[standard]==0.165.0")]},
            files={"start.sh": "#!/bin/sh\nset -e\nalembic upgrade head\nexec fastapi run main.py --port \"${PORT:-8000}\"\n"}),
    Variant("multi-stage-entrypoint-pip-compiled-on-wal", 11, S11,
            {"database.py": [(FK_PRAGMA_11, FK_PRAGMA_11 + '        dbapi_connection.execute("PRAGMA journal_mode = WAL")\n')],
             "Dockerfile": [("FROM python:3.12-slim\n", ("# syntax=docker/dockerfile:1\nARG PY=3.12\n"
                             "FROM --platform=$BUILDPLATFORM python:${PY}-slim AS base\nENV HOST=0.0.0.0 \\\n    PORT=8000\n")),
                            ("RUN pip install --no-cache-dir -r requirements.txt",
                             "RUN --mount=type=cache,target=/root/.cache/pip \\\n    python -m pip install --requirement=./requirements.txt"),
                            (CMD_EXEC, ('ENTRYPOINT ["python", "-m", "uvicorn"]\nCMD ["main:app", "--host=0.0.0.0"]\n\n'
                             "FROM base AS final\nUSER nobody"))]},
            files={"requirements.txt": PIP_COMPILED}),
]

# ---- migrations with Alembic (steps 8-11), and the ALTER TABLE style accepted beside it ----

REVISION_0002 = "migrations/versions/0002_add_priority.py"
REVISION_0003 = "migrations/versions/0003_users_and_owners.py"
OWNER_BY_BATCH = (  # batch mode rebuilds the table to add the constraint, losing AUTOINCREMENT
    '    with op.batch_alter_table("notes") as batch:\n'
    '        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))\n'
    '        batch.create_foreign_key("fk_notes_owner_id", "users", ["owner_id"], ["id"])\n'
)
OWNER_BY_STATEMENT = '    op.execute("ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)")\n'
OWNER_BY_ADD_COLUMN = (
    '    op.add_column("notes", sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), '
    "nullable=True))\n"
)
BASELINE_GUARD = (
    '    if sa.inspect(op.get_bind()).has_table("notes"):\n'
    "        return  # a database made by step 7: create_all made this very table, rows and all\n"
)

VARIANTS += [
    Variant("alembic-upgrade-never-run", 8, S8, {"main.py": [(ALEMBIC_UPGRADE, "")]},
            first_failure="test_old_rows_survive_the_upgrade", says=("no such column: notes.priority",),
            hint_says=("op.add_column",)),
    Variant("create-all-before-alembic", 8, S8,
            {"main.py": [(ALEMBIC_IMPORTS, ALEMBIC_IMPORTS.replace("import SessionLocal", "import Base, SessionLocal, engine")),
                         (ALEMBIC_UPGRADE, "    Base.metadata.create_all(engine)\n" + ALEMBIC_UPGRADE)]},
            first_failure="test_notes_survive_a_graceful_restart", says=("duplicate column name: priority",),
            hint_says=("take create_all out",)),
    Variant("baseline-always-creates-the-table", 8, S8,
            {"migrations/versions/0001_notes_table.py": [(BASELINE_GUARD, "")]},
            first_failure="test_old_rows_survive_the_upgrade", says=("table notes already exists",),
            hint_says=("has_table",)),
    Variant("owner-fk-in-batch-mode", 9, S9, {REVISION_0003: [(OWNER_BY_STATEMENT, OWNER_BY_BATCH)]},
            first_failure="test_step8_database_comes_forward", says=("given again",),
            hint_says=("batch mode",)),
    Variant("alembic-silences-the-server-log", 8, S8,
            {"main.py": [("    return NoteCount(total=total, pinned=pinned, unpinned=total - pinned)\n",
                          "    return {}[total]\n")],
             "migrations/env.py": [(", disable_existing_loggers=False", "")]},
            first_failure="test_count", says=("no traceback", "silenced"),
            hint_says=("disable_existing_loggers=False",)),
    Variant("owner-fk-by-add-column", 9, S9, {REVISION_0003: [(OWNER_BY_STATEMENT, OWNER_BY_ADD_COLUMN)]},
            first_failure="test_users", says=("No support for ALTER of constraints",),
            hint_says=("op.execute",)),
    Variant("step8-revision-given-a-new-id", 9, S9,
            {REVISION_0002: [('revision = "0002"', 'revision = "3c1f0e9a7b2d"')],
             REVISION_0003: [('down_revision = "0002"', 'down_revision = "3c1f0e9a7b2d"')]},
            first_failure="test_step8_database_comes_forward", says=("Can't locate revision identified by '0002'",),
            hint_says=("alembic_version",)),
    Variant("upgrade-nowhere", 11, S11_REFERENCE, {"Dockerfile": [(CHAIN_CMD, CMD_EXEC)]},
            first_failure="test_notes_survive_a_crash", says=("no such table: notes",),
            hint_says=("alembic upgrade head && exec uvicorn",)),
]

# Step 11's app still serves the API of steps 7 to 9: its replays, on main:app forked, catch these
# (found by benchmarks/mutants.py); most run `alembic upgrade head` from the CMD, as the reference does.
OWNER_FILTER = "select(Note).where(Note.owner_id == user_id).order_by(Note.id)"

VARIANTS += [
    Variant("ship-create-note-answers-200", 11, S11_REFERENCE,
            {"main.py": [('@app.post("/notes"' + NO_201, '@app.post("/notes")')]},
            first_failure="test_notes_still_created_and_read", says=("201 Created",)),
    Variant("ship-put-never-commits", 11, S11_REFERENCE,
            {"main.py": [("        setattr(note, field, value)\n    db.commit()\n", "        setattr(note, field, value)\n")]},
            first_failure="test_notes_still_updated_and_deleted", says=("still shows",), hint_says=("db.commit()",)),
    Variant("ship-validation-gone", 11, S11,
            {"schemas.py": [("    text: str = Field(min_length=1, max_length=500)\n", "    text: str\n")]},
            first_failure="test_bad_input_still_refused", says=("422",)),
    Variant("ship-count-wrong", 11, S11_REFERENCE, {"main.py": [("unpinned=total - pinned", "unpinned=total")]},
            first_failure="test_priority_filter_and_count_still_work", says=("/notes/count",)),
    Variant("ship-sessions-never-closed", 11, S11_REFERENCE,
            {"main.py": [(GET_DB, "    db = SessionLocal()\n    yield db\n")]},
            first_failure="test_sessions_still_closed", hint_says=("finally",)),
    Variant("ship-missing-user-default-404", 11, S11_REFERENCE,
            {"main.py": [('raise HTTPException(status_code=404, detail=f"User {user_id} not found")',
                          "raise HTTPException(status_code=404)")]},
            first_failure="test_users", says=("'Not Found'", "user 987654")),
    Variant("ship-user-notes-unfiltered", 11, S11_REFERENCE,
            {"main.py": [(OWNER_FILTER, "select(Note).order_by(Note.id)")]},
            first_failure="test_notes_have_an_owner", says=("the other user should have none",)),
    Variant("ship-foreign-keys-off", 11, S11_REFERENCE, {"database.py": [(FK_PRAGMA_11, "        pass\n")]},
            first_failure="test_no_orphan_notes", says=("orphan",), hint_says=("PRAGMA foreign_keys = ON",)),
    Variant("ship-delete-user-default-409", 11, S11,
            {"main.py": [('commit_or_409(db, f"User {user_id} still owns notes; delete them first")',
                          'commit_or_409(db, "Conflict")')]},
            first_failure="test_deleting_a_user_with_notes", says=("'Conflict'", "should name user")),
    Variant("ship-commit-per-imported-note", 11, S11_REFERENCE, {"main.py": [(IMPORT_ONCE, IMPORT_EACH)]},
            first_failure="test_import_is_all_or_nothing", says=("saved anyway",), hint_says=("commit once",)),
    Variant("ship-ids-reused", 11, S11_REFERENCE,
            {"models.py": [(NOTE_TABLE_ARGS, NOTE_TABLE_ARGS.splitlines(True)[0] + NOTE_TABLE_ARGS.splitlines(True)[1])],
             "migrations/versions/0001_notes_table.py": [("        sqlite_autoincrement=True,\n", "")]},
            first_failure="test_changes_still_survive_a_restart", says=("new note got id",)),
    Variant("ship-step8-revision-given-a-new-id", 11, S11_REFERENCE,
            {REVISION_0002: [('revision = "0002"', 'revision = "3c1f0e9a7b2d"')],
             REVISION_0003: [('down_revision = "0002"', 'down_revision = "3c1f0e9a7b2d"')]},
            first_failure="test_step8_database_comes_forward", says=("Can't locate revision identified by '0002'",)),
    Variant("ship-health-answers-500", 11, S11,
            {"main.py": [('HTTPException(status_code=503, detail="The database does not answer")',
                          'HTTPException(status_code=500, detail="The database does not answer")')]},
            first_failure="test_health_needs_the_database", says=("answered 500", "503 Service Unavailable")),
    Variant("ship-default-database-renamed", 11, S11_REFERENCE,
            {"config.py": [('"sqlite:///notes.db")', '"sqlite:///app.db")')]},
            first_failure="test_notes_survive_a_graceful_restart", says=("not in notes.db",)),
]

FULL_MARKS += [
    ALTER8,
    ALTER9,
    ALTER11,
    S11,
    Variant("upgrade-chained-in-shell-form", 11, S11_REFERENCE,
            {"Dockerfile": [(CHAIN_CMD, "CMD alembic upgrade head && uvicorn main:app --host 0.0.0.0 --port 8000")]}),
]
CORRECT += [ALTER10]

# One mistake, one check, whatever the checks before left on the server: a user's notes listed
# unfiltered fails the check of owners only, in step 9 and in step 10 (whose server is reused).
VARIANTS += [
    Variant(f"user-notes-unfiltered-step{step}", step, folder,
            {"main.py": [(OWNER_FILTER, "select(Note).order_by(Note.id)")]},
            first_failure="test_notes_have_an_owner", says=("the other user should have none",),
            alone=True)
    for step, folder in ((9, S9), (10, S10))
]
