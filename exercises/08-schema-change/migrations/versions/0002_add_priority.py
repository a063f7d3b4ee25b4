"""add priority

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO 1: Add the column to the table that holds the rows:
    #         op.add_column("notes", sa.Column("priority", sa.Integer(), nullable=False,
    #         server_default="0")). The server default is what every existing row gets.
    pass


def downgrade() -> None:
    # TODO 1: Undo exactly what upgrade() did: op.drop_column("notes", "priority").
    pass
