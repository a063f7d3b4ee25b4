"""How Alembic reaches the database: through the app's own engine, with the app's models.

`alembic init migrations` wrote this file; it was then cut down to the online mode and given
the engine from database.py (so DATABASE_URL picks the database) and Base.metadata.
"""

from logging.config import fileConfig

import models  # noqa: F401  importing the models puts their tables on Base.metadata
from alembic import context
from database import Base, engine

if context.config.config_file_name is not None:
    # keep the loggers that exist: the server logs its errors (and their tracebacks) through them
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
