"""Bring a database made by an older version of the app up to the models, keeping every row.

create_all() only makes tables that are missing; it never changes one that exists. Each
change to an existing table is therefore written here once, and applied at startup when
the database does not have it yet.
"""

from sqlalchemy import Engine


def upgrade(engine: Engine) -> list[str]:
    """Apply every change the database lacks, in one transaction; return what was applied."""
    # TODO 1: Read the columns the notes table has now: inspect(engine).get_columns("notes")
    #         gives a list of dicts, each with a "name".
    # TODO 1: If "priority" is not among them, run
    #         ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0
    #         inside `with engine.begin() as conn:` (conn.execute(text(...))). If it is there,
    #         do nothing: this runs at every start.
    return []
