"""Alembic environment: runs inside the Flask app (via Flask-Migrate), against the app's engine."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep the app's own loggers alive: Alembic's default would silence every logger created before it.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url",
                       target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    """Emit the migration as SQL text, without a database connection."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migration on a connection from the app's engine."""

    def process_revision_directives(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with target_db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # The app's statement timeout guards requests; a migration may rewrite a large table.
            connection.exec_driver_sql("SET statement_timeout = 0")
            connection.commit()  # the setting stays for the session; the migration gets its own transaction
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
