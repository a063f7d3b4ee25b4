"""users, and an owner for every note

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sqlite_autoincrement=True,
    )
    # SQLite adds a column that REFERENCES another table, but no constraint to a table that
    # exists, which op.add_column with a ForeignKey would ask for; PostgreSQL takes this as well
    op.execute("ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)")
    op.create_index("ix_notes_owner_id", "notes", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_notes_owner_id", table_name="notes")
    op.drop_column("notes", "owner_id")
    op.drop_table("users")
