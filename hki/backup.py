"""Backup and restore: every table in one zip archive, readable by either backend.

The archive holds ``manifest.json`` (format, schema revision, row counts, SHA-256 of each
table file) and one JSON-lines file per table, in foreign-key order, with the issued
reports' PDFs inside (base64). A backup reads everything in one snapshot (REPEATABLE READ
on PostgreSQL, one read transaction on SQLite), so it is consistent while the app runs.
Restore writes into an empty database at the same schema revision, in one transaction,
keeping every id; so issued reports come back byte for byte, and a draft report for the
same Stichtag and Kenntnisstand renders the same text.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.types import JSON, Boolean, Date, DateTime, Enum, Integer, LargeBinary

from hki.db import UTCDateTime, utcnow
from hki.extensions import Model

FORMAT = "hki-backup-1"
#: Rows per INSERT statement when restoring.
BATCH = 500


class BackupError(RuntimeError):
    """The archive cannot be written or restored; the message says why, in German."""


def tables() -> list[Table]:
    """All tables of the models, parents before children."""
    return list(Model.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, dict | list | str | int | float):
        return value.value  # an Enum member
    return value


def _revision(connection: Connection) -> str:
    return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())


def write_backup(connection: Connection, target: IO[bytes]) -> dict[str, Any]:
    """Write the archive to ``target`` from one consistent snapshot; returns the manifest."""
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow().isoformat(),
                                "dialect": connection.dialect.name,
                                "revision": _revision(connection), "tables": {}}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables():
            digest = hashlib.sha256()
            count = 0
            key = [c for c in table.primary_key.columns] or list(table.columns)
            with archive.open(f"tables/{table.name}.jsonl", "w") as member:
                rows = connection.execute(select(table).order_by(*key))
                for row in rows.mappings():
                    line = (json.dumps({k: _encode(v) for k, v in row.items()},
                                       ensure_ascii=False, sort_keys=True) + "\n").encode()
                    digest.update(line)
                    member.write(line)
                    count += 1
            manifest["tables"][table.name] = {"rows": count, "sha256": digest.hexdigest()}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def backup(connection: Connection, path: Path) -> dict[str, Any]:
    """Back up into ``path`` (written to a temporary name, then renamed: never half a file)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:  # pysqlite starts no transaction for reads: one BEGIN makes them one snapshot
        connection.exec_driver_sql("BEGIN")
    temporary = path.with_name(path.name + ".unvollstaendig")
    try:
        with temporary.open("wb") as target:
            manifest = write_backup(connection, target)
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BackupError(f"Die Sicherung konnte nicht geschrieben werden: {error.strerror} "
                          f"({path}).") from error
    return manifest


def _decoder(table: Table) -> dict[str, Any]:
    """Per column, how to turn the archived JSON value back into a Python value."""
    decoders: dict[str, Any] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, LargeBinary):
            decoders[column.name] = lambda v: base64.b64decode(v["$b64"])
        elif isinstance(kind, UTCDateTime | DateTime):
            decoders[column.name] = datetime.fromisoformat
        elif isinstance(kind, Date):
            decoders[column.name] = date.fromisoformat
        elif isinstance(kind, Enum) and kind.enum_class is not None:
            decoders[column.name] = kind.enum_class
        elif isinstance(kind, Boolean):
            decoders[column.name] = bool
        elif isinstance(kind, JSON):
            decoders[column.name] = lambda v: v
    return decoders


def _rows(archive: zipfile.ZipFile, table: Table,
          expected: dict[str, Any]) -> Iterator[dict[str, Any]]:
    decoders = _decoder(table)
    digest = hashlib.sha256()
    with archive.open(f"tables/{table.name}.jsonl") as member:
        for line in io.TextIOWrapper(member, encoding="utf-8", newline="\n"):
            digest.update(line.encode())
            row = json.loads(line)
            yield {k: (decoders[k](v) if v is not None and k in decoders else v)
                   for k, v in row.items()}
    if digest.hexdigest() != expected["sha256"]:
        raise BackupError(f"Die Sicherung ist beschädigt (Tabelle {table.name} stimmt nicht "
                          f"mit ihrer Prüfsumme überein). Es wurde nichts wiederhergestellt.")


def restore(connection: Connection, source: Path | IO[bytes]) -> dict[str, int]:
    """Restore the archive into the empty database behind ``connection`` (caller commits)."""
    try:
        archive = zipfile.ZipFile(source)
        manifest = json.loads(archive.read("manifest.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise BackupError("Das ist keine lesbare hki-Sicherung (manifest.json fehlt oder ist "
                          "beschädigt).") from error
    if manifest.get("format") != FORMAT:
        raise BackupError("Das ist keine hki-Sicherung in einem bekannten Format.")
    revision = _revision(connection)
    if manifest["revision"] != revision:
        raise BackupError(f"Die Sicherung hat den Datenbankstand {manifest['revision']}, diese "
                          f"Datenbank {revision}. Bitte mit derselben hki-Version "
                          f"wiederherstellen und danach aktualisieren.")
    filled = [t.name for t in tables()
              if connection.execute(select(func.count()).select_from(t)).scalar()]
    if filled:
        raise BackupError("Die Datenbank ist nicht leer (zum Beispiel " + ", ".join(filled[:3])
                          + "). Wiederhergestellt wird nur in eine leere, migrierte Datenbank.")
    counts: dict[str, int] = {}
    with archive:
        for table in tables():
            expected = manifest["tables"].get(table.name)
            if expected is None:
                raise BackupError(f"In der Sicherung fehlt die Tabelle {table.name}.")
            batch: list[dict[str, Any]] = []
            counts[table.name] = 0
            for row in _rows(archive, table, expected):
                batch.append(row)
                if len(batch) == BATCH:
                    connection.execute(insert(table), batch)
                    counts[table.name] += len(batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
                counts[table.name] += len(batch)
            if counts[table.name] != expected["rows"]:
                raise BackupError(f"Tabelle {table.name}: {counts[table.name]} statt "
                                  f"{expected['rows']} Zeilen.")
    if connection.dialect.name == "postgresql":
        reset_sequences(connection)
        connection.execute(text("ANALYZE"))  # fresh statistics: the planner sees the data
    return counts


def reset_sequences(connection: Connection) -> None:
    """New rows after a restore get ids after the restored ones."""
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer):
            name = keys[0].name
            # pg_get_serial_sequence is NULL for keys without a sequence; setval then is too.
            # Names come from the models, never from input.
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{name}'), "  # noqa: S608
                f"COALESCE((SELECT MAX({name}) FROM {table.name}), 0) + 1, false)"))
