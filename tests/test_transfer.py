"""Moving a SQLite install with data to PostgreSQL loses nothing."""

from __future__ import annotations

import io
import os
import uuid

import sqlalchemy as sa
from flask_migrate import upgrade

from portal.config import database_url
from portal.extensions import db
from portal.services.demo import seed_demo
from portal.services.transfer import TransferError, export_data, import_data
from tests.conftest import _server_reachable, make_test_app
from tests.helpers import require

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_server() -> sa.URL:
    raw = os.environ.get("DATABASE_URL") or ""
    url = sa.make_url(database_url(raw if raw.startswith("postgres") else DEFAULT_SERVER, None))
    require(
        _server_reachable(url.render_as_string(hide_password=False)),
        f"PostgreSQL at {url.host}:{url.port} is not answering (needed to test the move)",
    )
    return url


def _snapshot() -> dict[str, list[dict]]:
    """Every table's rows, ordered by primary key, as comparable plain values."""
    data = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name == "trending_window":
                continue  # when the trending counters were last counted: at the import, after
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            data[table.name] = [dict(row) for row in rows.mappings()]
    return data


def test_a_sqlite_install_moves_to_postgresql_with_nothing_lost(tmp_path) -> None:
    server = _postgres_server()
    source = make_test_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path)
    with source.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        before = _snapshot()
        dump = io.StringIO()
        exported = export_data(dump)
        db.session.remove()
        db.engine.dispose()

    name = f"portal_move_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        target = make_test_app(
            server.set(database=name).render_as_string(hide_password=False), tmp_path
        )
        with target.app_context():
            upgrade()
            dump.seek(0)
            imported = import_data(dump)
            after = _snapshot()
            assert imported.rows == {t: n for t, n in exported.rows.items() if n}
            assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
            assert after == before  # every row, every column
            assert sum(exported.rows.values()) > 300
            # The moved install keeps working: new rows get fresh ids, search finds old items.
            from portal.services.board import BoardFilters, board_page

            found = board_page(BoardFilters.from_args({"q": "kettle"}), per_page=20).items
            assert [i.title for i in found] == ["Kettle stopped working after three weeks"]
            db.session.execute(
                sa.text(
                    "INSERT INTO categories (name, slug, description, "
                    "ack_target_hours, response_guide, position) VALUES "
                    "('New', 'new', '', 24, '', 9)"
                )
            )
            db.session.commit()
            dump.seek(0)
            try:
                import_data(dump)
            except TransferError as exc:
                assert "not empty" in str(exc)
            else:
                raise AssertionError("importing twice must be refused")
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_a_file_that_is_not_an_export_is_refused(app) -> None:
    try:
        import_data(io.StringIO('{"hello": 1}\n'))
    except TransferError as exc:
        assert "not a portal export" in str(exc)
    else:
        raise AssertionError("expected a refusal")
