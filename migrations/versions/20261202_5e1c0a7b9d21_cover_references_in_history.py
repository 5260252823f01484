"""cover references in history

Revision ID: 5e1c0a7b9d21
Revises: 1ef9aeaafa05
Create Date: 2026-12-02 06:00:00

Data repair, no schema change. Imported plans count from their adoption, but the
organisations and target groups the import created (or found in hki) counted only from the
day of the import, so the history had measures whose lead office did not exist yet and
reports for earlier Stichtage showed "?". For every organisation and target group that a
measure snapshot refers to before the organisation's own first snapshot, this writes a copy
of that first snapshot counting from the earliest such reference (audit action
"backdate"), the same rule hki.plan.history.cover_references applies to new imports.
The audit log is append-only, so the downgrade leaves these true entries in place.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = '5e1c0a7b9d21'
down_revision = '1ef9aeaafa05'
branch_labels = None
depends_on = None

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer), sa.column("at", hki.db.UTCDateTime()),
    sa.column("user_id", sa.Integer), sa.column("actor", sa.String),
    sa.column("action", sa.String), sa.column("entity", sa.String),
    sa.column("entity_id", sa.Integer), sa.column("before", sa.JSON),
    sa.column("after", sa.JSON), sa.column("snapshot", sa.JSON),
    sa.column("effective_at", hki.db.UTCDateTime()),
)
REFERENCES = {"lead_organisation_id": "organisations", "partners": "organisations",
              "target_groups": "target_groups"}


def upgrade():
    bind = op.get_bind()
    needed = {}
    rows = bind.execute(sa.select(audit_log.c.effective_at, audit_log.c.snapshot).where(
        audit_log.c.entity == "measures", audit_log.c.effective_at.is_not(None)))
    for effective_at, snapshot in rows:
        if effective_at is None or not snapshot:
            continue
        for key, entity in REFERENCES.items():
            value = snapshot.get(key)
            for entity_id in value if isinstance(value, list) else [value]:
                if entity_id is None:
                    continue
                found = (entity, int(entity_id))
                if found not in needed or effective_at < needed[found]:
                    needed[found] = effective_at
    earliest = {}
    rows = bind.execute(
        sa.select(audit_log.c.entity, audit_log.c.entity_id, audit_log.c.effective_at,
                  audit_log.c.snapshot)
        # Snapshots have an effective time; deletions (snapshot JSON null) have none.
        .where(audit_log.c.entity.in_(["organisations", "target_groups"]),
               audit_log.c.effective_at.is_not(None))
        .order_by(audit_log.c.effective_at.desc(), audit_log.c.id.desc()))
    for entity, entity_id, effective_at, snapshot in rows:
        earliest[(entity, entity_id)] = (effective_at, snapshot)
    now = datetime.now(UTC)
    repairs = []
    for (entity, entity_id), moment in sorted(needed.items()):
        first = earliest.get((entity, entity_id))
        if first is None or first[0] <= moment:
            continue
        repairs.append({
            "at": now, "user_id": None, "actor": "Datenreparatur (Migration)",
            "action": "backdate", "entity": entity, "entity_id": entity_id, "before": None,
            "after": {"effective_at": moment.astimezone(UTC).isoformat()},
            "snapshot": first[1], "effective_at": moment})
    if repairs:
        op.bulk_insert(audit_log, repairs)


def downgrade():
    pass
