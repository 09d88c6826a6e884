"""Moving an install between databases (such as SQLite to PostgreSQL): every table streamed
to a JSON Lines file, and loaded back into an empty database migrated to the same revision."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.services.insights import rollups

FORMAT = "portal-export"
CHUNK = 1_000


class TransferError(Exception):
    """The file or the target database is not what an import needs."""


def _revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        # Attached images kept in the database (attachment_blobs).
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime | date):
        return {"$dt" if isinstance(value, datetime) else "$date": value.isoformat()}
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$b64" in value:
            return base64.b64decode(value["$b64"])
    return value


def _tables() -> list[sa.Table]:
    """The tables that hold the install's data; the insights roll-ups are counted from them
    again after an import (copied, they would be counted twice: triggers keep some of them
    as the votes go in)."""
    return [t for t in db.metadata.sorted_tables if t.name not in rollups.ROLLUP_TABLES]


@dataclass
class TransferReport:
    """Rows per table."""

    revision: str | None = None
    rows: dict[str, int] = field(default_factory=dict)


def export_data(out: IO[str]) -> TransferReport:
    """Write every table, row by row (memory stays flat), to a JSON Lines stream."""
    report = TransferReport()
    with db.engine.connect() as connection:
        report.revision = _revision(connection)
        out.write(json.dumps({"format": FORMAT, "revision": report.revision}) + "\n")
        for table in _tables():
            count = 0
            key = list(table.primary_key.columns)
            result = connection.execution_options(stream_results=True, yield_per=CHUNK).execute(
                sa.select(table).order_by(*key)
            )
            for row in result.mappings():
                out.write(
                    json.dumps({"t": table.name, "r": {k: _plain(v) for k, v in row.items()}})
                )
                out.write("\n")
                count += 1
            report.rows[table.name] = count
    return report


def _self_references(table: sa.Table) -> list[str]:
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table is table and fk.parent.nullable
    ]


def _lines(source: IO[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise TransferError(f"line {number} is not JSON: {exc}") from exc


def import_data(source: IO[str]) -> TransferReport:
    """Load an export into this (migrated, empty) database, in one transaction."""
    lines = _lines(source)
    header = next(lines, None)
    if not header or header.get("format") != FORMAT:
        raise TransferError("this is not a portal export file")
    tables = {t.name: t for t in _tables()}
    report = TransferReport(revision=header.get("revision"))
    with db.engine.begin() as connection:
        if _revision(connection) != report.revision:
            raise TransferError(
                f"the export is at revision {report.revision}, this database at "
                f"{_revision(connection)}: run `flask db upgrade` on both first"
            )
        for table in tables.values():
            if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                raise TransferError(f"table {table.name} is not empty; import into a new database")
        deferred: list[tuple[sa.Table, dict[str, Any], dict[str, Any]]] = []
        batch: list[dict[str, Any]] = []
        current: sa.Table | None = None

        def flush() -> None:
            if current is not None and batch:
                connection.execute(sa.insert(current), batch)
                batch.clear()

        for entry in lines:
            if entry["t"] in rollups.ROLLUP_TABLES:
                continue  # an export made before they were left out: counted again below
            named = tables.get(entry["t"])
            if named is None:
                raise TransferError(f"unknown table {entry['t']}")
            table = named
            if table is not current:
                flush()
                current = table
            row = {k: _restore(v) for k, v in entry["r"].items()}
            # Rows may point at rows of their own table that come later: fill those in after.
            later = {c: row[c] for c in _self_references(table) if row.get(c) is not None}
            if later:
                key = {c.name: row[c.name] for c in table.primary_key}
                # Keep columns an UPDATE would otherwise stamp (updated_at) as they were.
                kept = {c.name: row[c.name] for c in table.columns if c.onupdate is not None}
                deferred.append((table, key, {**later, **kept}))
                row.update(dict.fromkeys(later))
            batch.append(row)
            report.rows[table.name] = report.rows.get(table.name, 0) + 1
            if len(batch) >= CHUNK:
                flush()
        flush()
        for table, key, values in deferred:
            where = [table.c[name] == value for name, value in key.items()]
            connection.execute(sa.update(table).where(*where).values(**values))
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
        rollups.rebuild(Session(bind=connection))
    return report


def _reset_sequences(connection: sa.Connection) -> None:
    # Rows came with their ids; the next id each table hands out must follow them.
    for table in _tables():
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, sa.Integer) and key[0].autoincrement:
            connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key[0].name}'), "
                    f"COALESCE((SELECT MAX({key[0].name}) FROM {table.name}), 0) + 1, false)"
                )
            )
