"""Bring a database made by an older version of the app up to the models, keeping every row.

create_all() only makes tables that are missing; it never changes one that exists. Each
change to an existing table is therefore written here once, and applied at startup when
the database does not have it yet.
"""

from sqlalchemy import Engine, inspect, text

ADDED_COLUMNS = {
    ("notes", "priority"): "ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
    ("notes", "owner_id"): "ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)",
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
