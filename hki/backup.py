"""Backup and restore: every table in one zip archive, readable by either backend.

The archive holds ``manifest.json`` (format, schema revision, row counts, SHA-256 of each
table file), ``manifest.sig`` (HMAC-SHA256 of the manifest with the installation's backup
key, so that a changed row cannot be hidden by recomputing its table's hash) and one
JSON-lines file per table, in foreign-key order, with the issued
reports' PDFs inside (base64). A backup reads everything in one snapshot (REPEATABLE READ
on PostgreSQL, one read transaction on SQLite), so it is consistent while the app runs.
Restore writes into an empty database at the same schema revision, in one transaction,
keeping every id; so issued reports come back byte for byte, and a draft report for the
same Stichtag and Kenntnisstand renders the same text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import JSON, Boolean, Date, DateTime, Enum, Integer, LargeBinary

from hki.db import UTCDateTime, utcnow
from hki.extensions import Model

FORMAT = "hki-backup-1"
#: Rows per INSERT statement when restoring.
BATCH = 500
#: Longest line of a table file read when restoring (a report's PDF in base64 fits; a
#: forged member that inflates to gigabytes is refused before it fills the memory).
MAX_LINE = 128 * 1024 * 1024
#: A manifest lists a few dozen tables; anything much larger is not one (read before the
#: signature is checked, so it must not fill the memory either).
MAX_MANIFEST = 1024 * 1024


class BackupError(RuntimeError):
    """The archive cannot be written or restored; the message says why, in German."""


def key_path() -> Path:
    """Where the backup key lives: ``HKI_BACKUP_KEY_FILE``, else ``instance/backup.key``."""
    configured = str(current_app.config.get("HKI_BACKUP_KEY_FILE") or "")
    return Path(configured) if configured else Path(current_app.instance_path) / "backup.key"


def load_key(path: Path | None = None, *, create: bool = False) -> bytes | None:
    """The backup key; with ``create``, a new random one is written (mode 600) if none is.

    It signs every backup's manifest; restore checks it before writing anything. Keep a
    copy apart from the backups (a lost key means old backups cannot be checked).
    """
    path = path or key_path()
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(handle, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return key.encode("ascii") if len(key) >= 32 else None


def _signature(key: bytes, manifest: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


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


def write_backup(connection: Connection, target: IO[bytes],
                 key: bytes | None = None) -> dict[str, Any]:
    """Write the archive to ``target`` from one consistent snapshot; returns the manifest.

    ``key``: the backup key (default: the installation's, made on first use).
    """
    key = key or load_key(create=True)
    if key is None:
        raise BackupError(f"Der Sicherungsschlüssel {key_path()} ist nicht lesbar.")
    signing_key = key
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow().isoformat(),
                                "dialect": connection.dialect.name,
                                "revision": _revision(connection), "tables": {}}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables():
            digest = hashlib.sha256()
            count = 0
            order = [c for c in table.primary_key.columns] or list(table.columns)
            with archive.open(f"tables/{table.name}.jsonl", "w") as member:
                rows = connection.execute(select(table).order_by(*order))
                for row in rows.mappings():
                    line = (json.dumps({k: _encode(v) for k, v in row.items()},
                                       ensure_ascii=False, sort_keys=True) + "\n").encode()
                    digest.update(line)
                    member.write(line)
                    count += 1
            manifest["tables"][table.name] = {"rows": count, "sha256": digest.hexdigest()}
        body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
        archive.writestr("manifest.json", body)
        archive.writestr("manifest.sig", _signature(signing_key, body))
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
        while line := member.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:
                raise BackupError(f"Die Sicherung ist beschädigt (Tabelle {table.name} hat "
                                  f"eine übergroße Zeile). Es wurde nichts wiederhergestellt.")
            digest.update(line)
            try:
                row = json.loads(line)
                yield {k: (decoders[k](v) if v is not None and k in decoders else v)
                       for k, v in row.items()}
            except (ValueError, TypeError, AttributeError) as error:
                raise BackupError(f"Die Sicherung ist beschädigt (Tabelle {table.name} "
                                  f"enthält eine unlesbare Zeile).") from error
    if digest.hexdigest() != expected.get("sha256"):
        raise BackupError(f"Die Sicherung ist beschädigt (Tabelle {table.name} stimmt nicht "
                          f"mit ihrer Prüfsumme überein). Es wurde nichts wiederhergestellt.")


def _manifest(archive: zipfile.ZipFile, key: bytes) -> dict[str, Any]:
    """The manifest, after its signature was checked against the backup key."""
    try:
        with archive.open("manifest.json") as member:
            body = member.read(MAX_MANIFEST + 1)
    except KeyError as error:
        raise BackupError("Das ist keine lesbare hki-Sicherung (manifest.json fehlt).") \
            from error
    if len(body) > MAX_MANIFEST:
        raise BackupError("Das ist keine hki-Sicherung (manifest.json ist übergroß).")
    try:
        with archive.open("manifest.sig") as member:
            signature = member.read(200).decode("ascii").strip()
    except (KeyError, UnicodeDecodeError) as error:
        raise BackupError("Die Sicherung ist nicht signiert. Wiederhergestellt werden nur "
                          "Sicherungen, die mit dem Sicherungsschlüssel dieser "
                          "Installation geschrieben wurden.") from error
    if not hmac.compare_digest(signature, _signature(key, body)):
        raise BackupError("Die Signatur der Sicherung passt nicht zum Sicherungsschlüssel: "
                          "Sie wurde verändert oder mit einem anderen Schlüssel geschrieben. "
                          "Es wurde nichts wiederhergestellt.")
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise BackupError("Das ist keine lesbare hki-Sicherung (manifest.json ist "
                          "beschädigt).") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
        raise BackupError("Das ist keine hki-Sicherung in einem bekannten Format.")
    return manifest


def restore(connection: Connection, source: Path | IO[bytes],
            key: bytes | None = None) -> dict[str, int]:
    """Restore the archive into the empty database behind ``connection`` (caller commits).

    The manifest's signature is checked with ``key`` (default: the installation's backup
    key) before anything is written; every problem is a :class:`BackupError` in German.
    """
    key = key or load_key()
    if key is None:
        raise BackupError(f"Kein Sicherungsschlüssel unter {key_path()}: Ohne den Schlüssel "
                          f"der Installation, die die Sicherung geschrieben hat, lässt sie "
                          f"sich nicht prüfen. Bitte die Schlüsseldatei dorthin kopieren.")
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise BackupError("Das ist keine lesbare hki-Sicherung (kein Zip-Archiv).") \
            from error
    with archive:
        manifest = _manifest(archive, key)
        if manifest.get("format") != FORMAT:
            raise BackupError("Das ist keine hki-Sicherung in einem bekannten Format.")
        revision = _revision(connection)
        if manifest.get("revision") != revision:
            raise BackupError(f"Die Sicherung hat den Datenbankstand {manifest.get('revision')}"
                              f", diese Datenbank {revision}. Bitte mit derselben hki-Version "
                              f"wiederherstellen und danach aktualisieren.")
        filled = [t.name for t in tables()
                  if connection.execute(select(func.count()).select_from(t)).scalar()]
        if filled:
            raise BackupError("Die Datenbank ist nicht leer (zum Beispiel "
                              + ", ".join(filled[:3]) + "). Wiederhergestellt wird nur in "
                              "eine leere, migrierte Datenbank.")
        try:
            counts = _restore_tables(connection, archive, manifest)
        except (SQLAlchemyError, KeyError, zipfile.BadZipFile, OSError) as error:
            raise BackupError(f"Die Sicherung lässt sich nicht einspielen ({type(error).__name__}"
                              f"): Sie passt nicht zu dieser Datenbank oder ist beschädigt. "
                              f"Es wurde nichts wiederhergestellt.") from error
    if connection.dialect.name == "postgresql":
        reset_sequences(connection)
        connection.execute(text("ANALYZE"))  # fresh statistics: the planner sees the data
    return counts


def _restore_tables(connection: Connection, archive: zipfile.ZipFile,
                    manifest: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables():
        expected = manifest["tables"].get(table.name)
        if not isinstance(expected, dict):
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
        if counts[table.name] != expected.get("rows"):
            raise BackupError(f"Tabelle {table.name}: {counts[table.name]} statt "
                              f"{expected.get('rows')} Zeilen.")
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
