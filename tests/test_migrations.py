"""The schema comes from the migrations alone, and they run forward and back."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.database import include_object
from portal.extensions import db
from tests.conftest import make_test_app


def _user_tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_upgrade_an_empty_database_and_downgrade_to_base(database_uri, tmp_path) -> None:
    url = sa.make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        uri = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        cleanup = None
    else:
        name = f"{url.database}_mig"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        uri = url.set(database=name).render_as_string(hide_password=False)

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    app = make_test_app(uri, tmp_path)
    try:
        with app.app_context():
            upgrade()
            assert {"users", "feedback", "votes", "comments", "timeline_events"} <= _user_tables(
                db.engine
            )
            downgrade(revision="base")
            assert _user_tables(db.engine) == set()
            upgrade()
            assert "feedback" in _user_tables(db.engine)
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            cleanup()


def test_models_and_migrations_agree(app) -> None:
    with db.engine.connect() as conn, warnings.catch_warnings():
        # Alembic cannot reflect expression indexes on SQLite and says so.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
