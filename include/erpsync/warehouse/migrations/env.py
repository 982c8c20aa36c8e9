"""Alembic environment: the engine comes from ``config.attributes`` (see ``erpsync.warehouse.migrate``)."""

from alembic import context

from erpsync.warehouse.schema import metadata
from erpsync.warehouse.types import UtcDateTime


def render_item(type_, obj, autogen_context):
    # Keep migrations free of application types: they must still run after the code moves on.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
