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
    # TODO 2: Make the users table: op.create_table("users", sa.Column("id", sa.Integer(),
    #         primary_key=True), sa.Column("name", sa.String(100), nullable=False),
    #         sqlite_autoincrement=True).
    # TODO 2: Add owner_id to notes with the statement itself, which SQLite and PostgreSQL both
    #         take: op.execute("ALTER TABLE notes ADD COLUMN owner_id INTEGER REFERENCES users (id)").
    #         (op.add_column with a ForeignKey fails on SQLite: README.md says why.) Then
    #         op.create_index("ix_notes_owner_id", "notes", ["owner_id"]).
    pass


def downgrade() -> None:
    # TODO 2: Undo it in the opposite order: op.drop_index("ix_notes_owner_id", table_name="notes"),
    #         op.drop_column("notes", "owner_id"), op.drop_table("users").
    pass
