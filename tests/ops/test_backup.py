"""Backup → restore into an empty database reproduces everything, also across backends."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

import hki.backup
from hki.auth.models import AuditEntry, User
from hki.backup import BackupError, backup, load_key, restore, tables
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.reports.data import gather
from hki.reports.models import Report, ReportState
from hki.reports.render import render_html
from hki.updates.services import post_update
from hki.vocab import Role, Status
from tests.conftest import BACKEND, PG_URL

K = datetime(2026, 11, 30, 12, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF"  # every byte value survives


def _source(app: Flask) -> dict[str, int]:
    with app.app_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        user = db.session.scalars(select(User).where(User.role == Role.COORDINATOR)).first()
        assert user is not None
        db.session.add(Report(plan=plan, requested_by=user, stichtag=date(2024, 12, 31),
                              known_at=K, state=ReportState.DONE, pdf=PDF, pages=1,
                              sha256="x" * 64, finished_at=K))
        post_update(db.session, db.session.scalars(select(Measure)).first(), user,  # type: ignore[arg-type]
                    as_of=date(2025, 6, 30), status=Status.DELAYED, progress=20,
                    note="Mehrzeilig\nmit Umlauten: äöüß – und „Anführungszeichen“")
        db.session.commit()
        return _counts()


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in tables()}


def _draft_text(plan_id: int) -> str:
    return render_html(gather(plan_id, date(2024, 12, 31), K, compare_with=date(2023, 12, 31)))


def _round_trip(fresh_apps: Callable[..., Flask], tmp_path: Path, source_backend: str,
                target_backend: str) -> None:
    source, target = fresh_apps(source_backend), fresh_apps(target_backend)
    counts = _source(source)
    archive = tmp_path / f"hki-{source_backend}.zip"
    with source.app_context():
        with db.engine.connect() as connection:
            manifest = backup(connection, archive)
            connection.rollback()
        plan_id = db.session.scalars(select(Plan.id)).one()
        text = _draft_text(plan_id)
    assert {k: v["rows"] for k, v in manifest["tables"].items()} == counts
    assert counts["audit_log"] > 500 and counts["reports"] == 1
    with target.app_context():
        with db.engine.begin() as connection:
            restored = restore(connection, archive)
        assert restored == counts == _counts()
        report = db.session.scalars(select(Report)).one()
        assert report.pdf == PDF and report.known_at == K
        assert _draft_text(plan_id) == text  # same (S, K), same report
        note = db.session.scalars(select(AuditEntry.after).where(
            AuditEntry.entity == "status_updates").order_by(AuditEntry.id.desc())).first()
        assert note is not None and "„Anführungszeichen“" in note["note"]
        # New rows get new ids after the restored ones (sequences moved on).
        user = db.session.scalars(select(User)).first()
        assert user is not None
        fresh = post_update(db.session, db.session.scalars(select(Measure)).first(), user,  # type: ignore[arg-type]
                            as_of=date(2025, 7, 1), status=Status.IN_PROGRESS, progress=30,
                            note="")
        db.session.commit()
        assert fresh.id > counts["status_updates"] - 1
        with db.engine.begin() as connection, pytest.raises(BackupError, match="nicht leer"):
            restore(connection, archive)


def test_backup_restore_round_trip(fresh_apps: Callable[..., Flask], tmp_path: Path) -> None:
    _round_trip(fresh_apps, tmp_path, BACKEND, BACKEND)


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL beside SQLite")
def test_sqlite_backup_restores_into_postgresql_and_back(
    fresh_apps: Callable[..., Flask], tmp_path: Path,
) -> None:
    for source, target in (("sqlite", "postgresql"), ("postgresql", "sqlite")):
        folder = tmp_path / f"{source}-{target}"
        folder.mkdir()
        _round_trip(fresh_apps, folder, source, target)


def test_damaged_or_foreign_archives_are_refused(fresh_apps: Callable[..., Flask],
                                                 tmp_path: Path) -> None:
    source, target = fresh_apps(), fresh_apps()
    _source(source)
    good = tmp_path / "gut.zip"
    with source.app_context(), db.engine.connect() as connection:
        backup(connection, good)
    damaged = io.BytesIO()
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(damaged, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "tables/measures.jsonl":
                data = data.replace(b"Sprach", b"Sprech", 1)
            copy.writestr(item, data)
    with target.app_context():
        for archive, message in ((io.BytesIO(b"kein zip"), "keine lesbare hki-Sicherung"),
                                 (damaged, "beschädigt")):
            with pytest.raises(BackupError, match=message), db.engine.begin() as connection:
                restore(connection, archive)
        assert sum(_counts().values()) == 0  # nothing half restored


def _rewrite(good: Path, change: Callable[[str, bytes], bytes | None],
             key: bytes | None = None) -> io.BytesIO:
    """A copy of the archive with members changed; re-signed with ``key`` if given (as a
    forger with the key, or hki itself, would), else with the old signature."""
    out = io.BytesIO()
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(out, "w") as copy:
        members = {item.filename: original.read(item) for item in original.infolist()}
        changed = {name: change(name, data) for name, data in members.items()}
        manifest = json.loads(changed["manifest.json"] or b"{}")
        for name, data in changed.items():
            if name.startswith("tables/") and data is not None:
                manifest["tables"][name[7:-6]]["sha256"] = hashlib.sha256(data).hexdigest()
            elif name.startswith("tables/"):
                manifest["tables"].pop(name[7:-6], None)
        body = json.dumps(manifest).encode()
        for name, data in changed.items():
            if data is None or name == "manifest.sig":
                continue
            copy.writestr(name, body if name == "manifest.json" else data)
        if key is not None:
            copy.writestr("manifest.sig", hmac.new(key, body, hashlib.sha256).hexdigest())
        elif "manifest.sig" in changed and changed["manifest.sig"] is not None:
            copy.writestr("manifest.sig", changed["manifest.sig"] or b"")
    out.seek(0)
    return out


def test_forged_unsigned_and_odd_archives_get_a_german_refusal(
    fresh_apps: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader made admin with the table's hash recomputed (F3), no signature, another
    key, and archives that are signed but odd inside (F10): each a German message,
    nothing restored."""
    source, target = fresh_apps(), fresh_apps()
    _source(source)
    good = tmp_path / "gut.zip"
    with source.app_context(), db.engine.connect() as connection:
        backup(connection, good)
        key = load_key()
    assert key is not None

    def admin(name: str, data: bytes) -> bytes:
        return data.replace(b'"role": "reader"', b'"role": "admin"') \
            if name == "tables/users.jsonl" else data

    def unsigned(name: str, data: bytes) -> bytes | None:
        return None if name == "manifest.sig" else data

    def bad_json(name: str, data: bytes) -> bytes:
        return b"{kein json\n" + data if name == "tables/plans.jsonl" else data

    def no_table(name: str, data: bytes) -> bytes | None:
        return None if name == "tables/measures.jsonl" else data

    def not_null(name: str, data: bytes) -> bytes:
        return data.replace(b'"title": "', b'"title": null, "x": "', 1) \
            if name == "tables/plans.jsonl" else data

    cases = [
        (_rewrite(good, admin), "Signatur der Sicherung passt nicht"),
        (_rewrite(good, unsigned), "nicht signiert"),
        (_rewrite(good, admin, key=b"0" * 64), "Signatur der Sicherung passt nicht"),
        (_rewrite(good, bad_json, key=key), "unlesbare Zeile"),
        (_rewrite(good, no_table, key=key), "fehlt die Tabelle measures"),
        (_rewrite(good, not_null, key=key), "lässt sich nicht einspielen"),
    ]
    with target.app_context():
        for archive, message in cases:
            with pytest.raises(BackupError, match=message), db.engine.begin() as connection:
                restore(connection, archive)
            assert sum(_counts().values()) == 0, message
        # A line longer than any real one is refused while reading, before it is held.
        with monkeypatch.context() as patch:
            patch.setattr(hki.backup, "MAX_LINE", 200)
            with pytest.raises(BackupError, match="übergroße Zeile"), \
                    db.engine.begin() as connection:
                restore(connection, good)
        # The real signed archive still restores.
        with db.engine.begin() as connection:
            assert restore(connection, good)["users"] > 0


def test_an_oversized_manifest_is_refused_before_reading_it(
    fresh_apps: Callable[..., Flask],
) -> None:
    """A forged archive cannot fill the memory before its signature is checked."""
    target = fresh_apps()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b" " * (4 * 1024 * 1024))
        archive.writestr("manifest.sig", b"0" * 64)
    bomb.seek(0)
    with target.app_context():
        load_key(create=True)
        with pytest.raises(BackupError, match="übergroß"), db.engine.begin() as connection:
            restore(connection, bomb)
