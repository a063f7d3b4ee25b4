"""Mutants that survive and change nothing a step's README asks for, each with the reason.

Reviewed by hand: a mutant goes here only when a correct submission could be written that way.
Keyed by step, then by the mutant's name as `benchmarks/mutants.py N --list` prints it.
"""

# Reasons shared by several steps.
NO_THREAD_CHECK = ("SQLAlchemy 2's pysqlite dialect already opens file databases with "
                   "check_same_thread=False (it pools them across threads), so the argument changes nothing")
NO_AUTOFLUSH = "autoflush only matters for a query between add() and commit(); no handler makes one"
EXPIRE = ("with expire_on_commit the note is read again after the commit, inside the same open "
          "session: the same answer, one SELECT more")
ID_ORDER_DICT = ("the answer is a JSON object keyed by id, whose keys are compared, not their order "
                 "(and SQLite scans a rowid table in id order anyway)")
LAZY_CREATED_AT = ("SQLAlchemy expires a server-default column after the INSERT and loads created_at "
                   "when the answer reads it: refresh() only loads it sooner")
DELETE_204 = ("the Response object the route returns carries 204 and an empty body, so the decorator's "
              "status_code is never used")
STRING_LENGTH = "SQLite does not enforce a VARCHAR length; the 500-character limit is the schema's (schemas.py)"
ID_ORDER_SQLITE = ("SQLite scans a rowid table in id order, so the listing comes in id order without "
                   "ORDER BY: no request to a SQLite app can tell the two apart")
PINNED_DEFAULT = ("NoteCreate always carries pinned (False unless sent), so the model's Python-side "
                  "default is never used")
PINNED_SERVER_DEFAULT = ("every INSERT the app makes names pinned; the server default only fills old "
                         "rows in a migration, which starts at step 8")
FREE_WORDING = ("the detail still names the user, which is all the README asks of it; the rest of "
                "its wording is free")
ROLLBACK_ON_CLOSE = ("the HTTPException ends the request, and get_db's close() rolls the failed "
                     "transaction back before the session's connection goes back to the pool")
UNUSED_RESULT = "what upgrade() returns is not used: the lifespan ignores it"
STEP7_FILE_ONLY = ("the priority statement runs only on a step-7 file, and step 9 brings forward a step-8 "
                   "file, which has priority already (step 8 judges this statement)")
DDL_AUTOCOMMIT = ("sqlite3 runs ALTER TABLE outside a transaction (it opens one only before INSERT, "
                  "UPDATE and DELETE), so the column stays without a commit; on PostgreSQL it would not")
DEFAULTS_FROM_SCHEMA = "NoteCreate always carries pinned and priority, so the model's Python-side default is never used"
SERVER_DEFAULTS = ("every INSERT the app makes names pinned and priority, and old rows get theirs from "
                   "the migration's ALTER TABLE, so the table's server default is never used")
INDEX = "an index changes how fast a query runs, not what it answers"
TABLE_NAME = "no route or task of this step depends on the table's name (step 6 checks it, step 8 migrates it)"

ORM_COMMON = {
    "database.py module: argument dropped: create_engine(… connect_args=connect_args)": NO_THREAD_CHECK,
    "database.py module: constant changed: DATABASE_URL.startswith('sqlite' -> 'sqlitex'":
        "connect_args becomes {} for SQLite: the same as dropping it. " + NO_THREAD_CHECK,
    "database.py module: argument dropped: sessionmaker(… autoflush=False)": NO_AUTOFLUSH,
    "database.py module: constant changed: sessionmaker(… autoflush=False -> True": NO_AUTOFLUSH,
    "database.py module: argument dropped: sessionmaker(… expire_on_commit=False)": EXPIRE,
    "database.py module: constant changed: sessionmaker(… expire_on_commit=False -> True": EXPIRE,
    "models.py Note: constant changed: String(500 -> 501": STRING_LENGTH,
}

EQUIVALENT: dict[int, dict[str, str]] = {
    5: {
        "db.py create_table: commit removed: with … conn":
            "sqlite3 opens no transaction before CREATE TABLE (only before INSERT, UPDATE, DELETE), "
            "so the table is written as the statement runs",
        "db.py create_table: SQL clause dropped: 'NOT NULL' from 'CREATE TABLE IF NOT EXISTS notes ( id IN'":
            "no request can store a NULL text: the Pydantic model refuses a body without a string "
            "text with 422 before any SQL runs",
        "db.py all_notes: SQL clause dropped: 'ORDER BY id' from 'SELECT id, text FROM notes ORDER BY id'":
            ID_ORDER_DICT,
    },
    6: {
        **ORM_COMMON,
        "main.py list_notes: SQL clause dropped: .order_by(Note.id)": ID_ORDER_DICT,
    },
    7: {
        **ORM_COMMON,
        "main.py create_note: statement deleted: db.refresh(note)": LAZY_CREATED_AT,
        "main.py delete_note: statement deleted: return Response(status_code=status.HTTP_204_NO_CONTENT)":
            "returning None from a route declared with status_code=204 answers 204 with no body "
            "(tests/checks/variants.py: delete-returns-none)",
        "main.py delete_note: argument dropped: app.delete(… status_code=status.HTTP_204_NO_CONTENT)": DELETE_204,
        "main.py delete_note: status changed: app.delete(… status_code=HTTP_204_NO_CONTENT -> HTTP_200_OK": DELETE_204,
        "main.py list_notes: SQL clause dropped: .order_by(Note.id)": ID_ORDER_SQLITE,
        "models.py Note: constant changed: 'notes' -> 'notesx'": TABLE_NAME,
        "models.py Note: argument dropped: mapped_column(… default=False)": PINNED_DEFAULT,
        "models.py Note: constant changed: mapped_column(… default=False -> True": PINNED_DEFAULT,
        "models.py Note: argument dropped: mapped_column(… server_default=false())": PINNED_SERVER_DEFAULT,
    },
    9: {
        **ORM_COMMON,
        "main.py create_note: statement deleted: db.refresh(note)": LAZY_CREATED_AT,
        "main.py import_notes: statement deleted: for note in notes: db.refresh(note)": LAZY_CREATED_AT,
        "main.py import_notes: statement deleted: db.refresh(note)": LAZY_CREATED_AT,
        "main.py delete_user: statement deleted: return Response(status_code=status.HTTP_204_NO_CONTENT)":
            "returning None from a route declared with status_code=204 answers 204 with no body",
        "main.py delete_note: statement deleted: return Response(status_code=status.HTTP_204_NO_CONTENT)":
            "returning None from a route declared with status_code=204 answers 204 with no body",
        "main.py delete_user: argument dropped: app.delete(… status_code=status.HTTP_204_NO_CONTENT)": DELETE_204,
        "main.py delete_user: status changed: app.delete(… status_code=HTTP_204_NO_CONTENT -> HTTP_200_OK": DELETE_204,
        "main.py delete_note: argument dropped: app.delete(… status_code=status.HTTP_204_NO_CONTENT)": DELETE_204,
        "main.py delete_note: status changed: app.delete(… status_code=HTTP_204_NO_CONTENT -> HTTP_200_OK": DELETE_204,
        "main.py list_notes: SQL clause dropped: .order_by(Note.id)": ID_ORDER_SQLITE,
        "main.py list_user_notes: SQL clause dropped: .order_by(Note.id)": ID_ORDER_SQLITE,
        "main.py commit_or_409: statement deleted: db.rollback()": ROLLBACK_ON_CLOSE,
        "main.py import_notes: constant changed: commit_or_409('An owner_id does not exist; no note was ' -> "
        "'An owner_id does not exist; no note was i'": "the README asks for 409 and nothing saved; the detail's wording is free",
        "main.py delete_user: constant changed: ' still owns notes; delete them first' -> "
        "' still owns notes; delete them firstx'": FREE_WORDING,
        "main.py create_note: constant changed: ' does not exist' -> ' does not existx'": FREE_WORDING,
        "main.py find_user: constant changed: ' not found' -> ' not foundx'": FREE_WORDING,
        "migrations.py upgrade: statement deleted: return applied": UNUSED_RESULT,
        "migrations.py upgrade: statement deleted: applied.append(f'{table}.{column}')": UNUSED_RESULT,
        "migrations.py upgrade: constant changed: '.' -> '.x'": UNUSED_RESULT,
        "migrations.py module: SQL clause dropped: 'NOT NULL' from 'ALTER TABLE notes ADD COLUMN priority IN'":
            STEP7_FILE_ONLY,
        "migrations.py module: SQL clause dropped: 'DEFAULT 0' from 'ALTER TABLE notes ADD COLUMN priority IN'":
            STEP7_FILE_ONLY,
        "migrations.py upgrade: commit removed: engine.begin() -> connect()": DDL_AUTOCOMMIT,
        "models.py Note: argument dropped: mapped_column(… default=False)": DEFAULTS_FROM_SCHEMA,
        "models.py Note: constant changed: mapped_column(… default=False -> True": DEFAULTS_FROM_SCHEMA,
        "models.py Note: argument dropped: mapped_column(… default=0)": DEFAULTS_FROM_SCHEMA,
        "models.py Note: constant changed: mapped_column(… default=0 -> 1": DEFAULTS_FROM_SCHEMA,
        "models.py Note: argument dropped: mapped_column(… server_default=false())": SERVER_DEFAULTS,
        "models.py Note: argument dropped: mapped_column(… server_default='0')": SERVER_DEFAULTS,
        "models.py Note: constant changed: mapped_column(… server_default='0' -> '0x'": SERVER_DEFAULTS,
        "models.py Note: argument dropped: mapped_column(… index=True)": INDEX,
        "models.py Note: constant changed: mapped_column(… index=True -> False": INDEX,
        "models.py User: constant changed: String(100 -> 101": STRING_LENGTH.replace("500", "100"),
    },
}

# Step 8 (the Alembic reference): its own survivors that change nothing it asks for.
TABLE_FROM_REVISION = ("the notes table comes from revision 0001 (sqlite_autoincrement=True there) or from "
                       "step 7's file, never from the model: no create_all runs, so __table_args__ makes no table")
EQUIVALENT[8] = {
    **ORM_COMMON,
    "main.py create_note: statement deleted: db.refresh(note)": LAZY_CREATED_AT,
    "main.py delete_note: statement deleted: return Response(status_code=status.HTTP_204_NO_CONTENT)":
        "returning None from a route declared with status_code=204 answers 204 with no body",
    "main.py delete_note: argument dropped: app.delete(… status_code=status.HTTP_204_NO_CONTENT)": DELETE_204,
    "main.py delete_note: status changed: app.delete(… status_code=HTTP_204_NO_CONTENT -> HTTP_200_OK": DELETE_204,
    "main.py list_notes: SQL clause dropped: .order_by(Note.id)": ID_ORDER_SQLITE,
    "models.py Note: argument dropped: mapped_column(… default=False)": DEFAULTS_FROM_SCHEMA,
    "models.py Note: constant changed: mapped_column(… default=False -> True": DEFAULTS_FROM_SCHEMA,
    "models.py Note: argument dropped: mapped_column(… default=0)": DEFAULTS_FROM_SCHEMA,
    "models.py Note: constant changed: mapped_column(… default=0 -> 1": DEFAULTS_FROM_SCHEMA,
    "models.py Note: argument dropped: mapped_column(… server_default=false())": SERVER_DEFAULTS,
    "models.py Note: argument dropped: mapped_column(… server_default='0')": SERVER_DEFAULTS,
    "models.py Note: constant changed: mapped_column(… server_default='0' -> '0x'": SERVER_DEFAULTS,
    "models.py Note: statement deleted: __table_args__: ClassVar[dict[str, Any]] = {'sqlite_autoinc…": TABLE_FROM_REVISION,
    "models.py Note: constant changed: 'sqlite_autoincrement': True -> False": TABLE_FROM_REVISION,
}

# Step 10 is step 9's app (only its docstring differs), checked on PostgreSQL: the same mutants, and
# the same reasons except those that hold on SQLite only.
ON_POSTGRES = ("with DATABASE_URL naming PostgreSQL, connect_args is {} whatever the mutant: "
               "check_same_thread is for SQLite only")
EQUIVALENT[10] = {
    **{name: why for name, why in EQUIVALENT[9].items() if why not in (ID_ORDER_SQLITE, DDL_AUTOCOMMIT)},
    "database.py module: argument dropped: create_engine(… connect_args=connect_args)": ON_POSTGRES,
    "database.py module: constant changed: DATABASE_URL.startswith('sqlite' -> 'sqlitex'": ON_POSTGRES,
}

# Step 11 is step 10's app with its settings in config.py, a /health route, and the tables made by
# `alembic upgrade head` before the server (the model never makes a table): step 9's reasons where
# the code is the same, and those of the model's table options, which no table is made from.
FROM_REVISIONS = ("the tables are made by the Alembic revisions before the server starts, never from "
                  "the model (nothing calls create_all): what the model says of a table changes no table")
HEALTH_READS = "/health still reads the notes table, so it still fails when the file cannot be read"
EQUIVALENT[11] = {
    **{name: why for name, why in EQUIVALENT[9].items()
       if name.startswith(("main.py", "database.py")) and "DATABASE_URL.startswith" not in name},
    "models.py Note: constant changed: String(500 -> 501": STRING_LENGTH,
    "models.py User: constant changed: String(100 -> 101": STRING_LENGTH.replace("500", "100"),
    "models.py Note: argument dropped: mapped_column(… default=False)": DEFAULTS_FROM_SCHEMA,
    "models.py Note: constant changed: mapped_column(… default=False -> True": DEFAULTS_FROM_SCHEMA,
    "models.py Note: argument dropped: mapped_column(… default=0)": DEFAULTS_FROM_SCHEMA,
    "models.py Note: constant changed: mapped_column(… default=0 -> 1": DEFAULTS_FROM_SCHEMA,
    "models.py Note: argument dropped: mapped_column(… server_default=false())": FROM_REVISIONS,
    "models.py Note: argument dropped: mapped_column(… server_default='0')": FROM_REVISIONS,
    "models.py Note: constant changed: mapped_column(… server_default='0' -> '0x'": FROM_REVISIONS,
    "models.py Note: argument dropped: mapped_column(… index=True)": FROM_REVISIONS,
    "models.py Note: constant changed: mapped_column(… index=True -> False": FROM_REVISIONS,
    "models.py User: statement deleted: __table_args__: ClassVar[dict[str, Any]] = {'sqlite_autoinc…": FROM_REVISIONS,
    "models.py Note: statement deleted: __table_args__: ClassVar[dict[str, Any]] = {'sqlite_autoinc…": FROM_REVISIONS,
    "models.py User: constant changed: 'sqlite_autoincrement': True -> False": FROM_REVISIONS,
    "models.py Note: constant changed: 'sqlite_autoincrement': True -> False": FROM_REVISIONS,
    "config.py Settings: argument dropped: dataclass(… frozen=True)":
        "nothing assigns to the settings once they are read; frozen only refuses such an assignment",
    "config.py Settings: constant changed: dataclass(… frozen=True -> False":
        "nothing assigns to the settings once they are read; frozen only refuses such an assignment",
    "database.py module: argument dropped: create_engine(… pool_pre_ping=True)":
        "pre-ping tests a pooled connection that a database server may have dropped; a SQLite file "
        "drops none, and the README does not ask for it",
    "database.py module: constant changed: create_engine(… pool_pre_ping=True -> False":
        "pre-ping tests a pooled connection that a database server may have dropped; a SQLite file "
        "drops none, and the README does not ask for it",
    "main.py health: SQL clause dropped: .limit(1)": HEALTH_READS,
    "main.py health: constant changed: select(Note.id).limit(1 -> 2": HEALTH_READS,
    "main.py health: argument dropped: HTTPException(… detail='The database does not answer')":
        "the README asks /health for 503; the detail's wording is free",
    "main.py health: constant changed: HTTPException(… detail='The database does not answer' -> "
    "'The database does not answerx'": "the README asks /health for 503; the detail's wording is free",
}
