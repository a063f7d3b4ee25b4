"""What a failed schema migration at startup means, from the app's output: Alembic's mistakes
and the ALTER TABLE ones, each with what to do instead."""

from __future__ import annotations

import re

STAMP_HINT = (
    "A database made before Alembic (by create_all in step 7) already has the notes table and "
    "no record of any revision, so Alembic runs the first revision on it. Make that revision "
    "create the table only where it is missing (`if sa.inspect(op.get_bind()).has_table("
    "\"notes\"): return`), as the 0001 revision of step 8 does."
)
CREATE_ALL_HINT = (
    "create_all made the table with the new column already, and then the revision added the "
    "column again. From step 8 on the revisions make and change the tables: take create_all out "
    "of the lifespan and run only `command.upgrade(Config(ALEMBIC_INI), \"head\")`."
)
CHECK_FIRST_HINT = (
    "The migration runs at every start, so it must first check whether the column is already "
    "there (`inspect(engine).get_columns(\"notes\")`) and do nothing if so; or let Alembic keep "
    "that record for you in its alembic_version table."
)
CONSTRAINT_HINT = (
    "SQLite can add a column that REFERENCES another table, but it cannot add a constraint to a "
    "table that exists, which is what op.add_column with a ForeignKey asks for. Write the "
    "statement itself: `op.execute(\"ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES "
    "users (id)\")` (PostgreSQL takes it too). Batch mode (op.batch_alter_table) is no way out: "
    "it rebuilds the table and loses AUTOINCREMENT."
)
HEADS_HINT = (
    "Two revisions name the same down_revision, so Alembic cannot tell which is last. Each new "
    "revision's down_revision is the revision before it: 0002 follows 0001, 0003 follows 0002."
)
_UNKNOWN_REVISION = re.compile(r"Can't locate revision identified by '([^']*)'")


def uses_alembic(output: str) -> bool:
    return "alembic" in output


def migration_hint(output: str) -> str:
    """What to do about the migration error in `output`, or "" when there is none."""
    unknown = _UNKNOWN_REVISION.search(output)
    if unknown:
        return (
            f"The database's alembic_version table says it has revision {unknown.group(1)!r}, "
            "and no file in migrations/versions has that revision id: a revision was renamed, "
            "given a new id or deleted. Keep every revision of the steps before with its id as "
            "given, and chain the new one after it with down_revision."
        )
    if "No support for ALTER of constraints in SQLite" in output:
        return CONSTRAINT_HINT
    if "Multiple head revisions" in output:
        return HEADS_HINT
    if re.search(r"duplicate column name|column \"?\w+\"? of relation \"?\w+\"? already exists", output):
        return CREATE_ALL_HINT if uses_alembic(output) else CHECK_FIRST_HINT
    if uses_alembic(output) and re.search(r"table \"?\w+\"? already exists|relation \"?\w+\"? already exists", output):
        return STAMP_HINT
    return ""
