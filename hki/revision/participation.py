"""Who takes part in a Fortschreibung besides the coordination.

Offices propose, in a Fortschreibungsabfrage, what becomes of the measures they lead
(continue, end with the plan, drop; with a reason, an end and a target); the coordination
sees the proposals beside its own decisions. People without an account – the
Integrationsbeirat, migrant organisations, partners – read the draft through a link that
expires and can be revoked.

Links rather than reader accounts: the people asked are many, change often and log in
once; an account each would mean invitations, passwords and deletions for a few weeks of
reading. A link shows only the draft (no names of people, no internal notes), and only
its hash is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.i18n import datum, parse_day
from hki.plan.models import Field, Goal, Measure, Plan
from hki.revision.models import RevisionProposal, RevisionQuery, RevisionShare
from hki.revision.services import REASON_MAX, RevisionError, active_measures
from hki.updates.models import StatusUpdate
from hki.updates.queries import current_updates
from hki.vocab import Outcome, PlanState

#: How long a share link may live at most.
SHARE_DAYS_MAX = 180
TARGET_MAX = 1000


# --- The Fortschreibungsabfrage ---------------------------------------------------------


def query_of(session: AnySession, draft: Plan) -> RevisionQuery | None:
    """The draft's Fortschreibungsabfrage, open or closed."""
    return session.scalars(select(RevisionQuery).where(RevisionQuery.plan_id == draft.id)
                           ).first()


def open_query(session: AnySession, draft: Plan, due_date: date, user: User,
               today: date) -> RevisionQuery:
    """Open (or reopen, or move the due date of) the Fortschreibungsabfrage."""
    if draft.state is not PlanState.DRAFT or draft.predecessor_id is None:
        raise RevisionError({"due_date": _("Eine Fortschreibungsabfrage gibt es nur zum "
                                           "Entwurf einer Fortschreibung.")})
    if due_date < today:
        raise RevisionError({"due_date": _("Die Frist liegt in der Vergangenheit.")})
    query = query_of(session, draft)
    if query is None:
        query = RevisionQuery(plan=draft, due_date=due_date, opened_by=user)
        session.add(query)
    else:
        query.due_date, query.closed_at = due_date, None
    session.flush()
    return query


def close_query(session: AnySession, query: RevisionQuery) -> None:
    """End the Fortschreibungsabfrage; offices see their proposals but change nothing."""
    if query.closed_at is None:
        query.closed_at = utcnow()
        session.flush()


def is_open(query: RevisionQuery | None) -> bool:
    """Offices may propose: the query is open and its draft not yet adopted."""
    return (query is not None and query.closed_at is None
            and query.plan.state is PlanState.DRAFT)


def open_queries_for(session: AnySession, user: User) -> list[tuple[RevisionQuery, int]]:
    """Open Fortschreibungsabfragen that ask the user's office, with its measure count."""
    if user.organisation_id is None:
        return []
    out = []
    for query in session.scalars(select(RevisionQuery).where(
            RevisionQuery.closed_at.is_(None)).options(joinedload(RevisionQuery.plan))):
        old = query.plan.predecessor
        if old is None or not is_open(query):
            continue
        count = sum(m.lead_organisation_id == user.organisation_id
                    for m in active_measures(old))
        if count:
            out.append((query, count))
    return out


@dataclass(frozen=True)
class OfficeRow:
    """One measure the office leads, with its last status and its current proposal."""

    measure: Measure
    update: StatusUpdate | None
    proposal: RevisionProposal | None


def office_rows(session: AnySession, draft: Plan, organisation_id: int) -> list[OfficeRow]:
    """The old plan's measures led by this office, in outline order."""
    old = draft.predecessor
    if old is None:
        return []
    mine = [m for m in active_measures(old) if m.lead_organisation_id == organisation_id]
    current = current_updates(old.id)
    proposals = proposals_of(session, draft)
    return [OfficeRow(m, current.get(m.id), proposals.get(m.id)) for m in mine]


def proposals_of(session: AnySession, draft: Plan) -> dict[int, RevisionProposal]:
    """The offices' proposals for the draft, by old measure id."""
    return {p.measure_id: p for p in session.scalars(
        select(RevisionProposal).where(RevisionProposal.plan_id == draft.id)
        .options(joinedload(RevisionProposal.proposed_by)))}


@dataclass(frozen=True)
class ProposalInput:
    """What an office proposes for one measure."""

    outcome: Outcome
    reason: str
    end_date: date | None
    target_note: str


def check_proposal(proposal: ProposalInput, draft: Plan) -> str | None:
    """What is wrong with a proposal (``None``: nothing)."""
    if proposal.outcome is Outcome.DROPPED and not proposal.reason:
        return str(_("Bitte begründen Sie, warum die Maßnahme entfallen soll."))
    if proposal.outcome is Outcome.CARRIED_OVER and proposal.end_date is not None \
            and proposal.end_date < draft.valid_from:
        return str(_("Das Ende liegt vor dem Beginn des neuen Plans (%(start)s).",
                     start=datum(draft.valid_from)))
    if len(proposal.reason) > REASON_MAX or len(proposal.target_note) > TARGET_MAX:
        return str(_("Der Text ist zu lang (Begründung höchstens %(max)d Zeichen, Ziel "
                     "höchstens %(target)d).", max=REASON_MAX, target=TARGET_MAX))
    return None


def propose(session: AnySession, draft: Plan, measure: Measure, proposal: ProposalInput,
            user: User) -> bool:
    """Store the office's proposal (replacing its earlier one); ``True`` if it changed."""
    stored = session.scalars(select(RevisionProposal).where(
        RevisionProposal.plan_id == draft.id, RevisionProposal.measure_id == measure.id)
    ).first()
    values = (proposal.outcome, proposal.reason, proposal.end_date, proposal.target_note)
    if stored is not None and (stored.outcome, stored.reason, stored.end_date,
                               stored.target_note) == values:
        return False
    if stored is None:
        stored = RevisionProposal(plan_id=draft.id, measure=measure, proposed_by=user)
        session.add(stored)
    stored.outcome, stored.reason, stored.end_date, stored.target_note = values
    stored.proposed_by, stored.proposed_at = user, utcnow()
    session.flush()
    return True


# --- Read-only links --------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(session: AnySession, draft: Plan, label: str, expires_on: date,
                 user: User, today: date) -> tuple[RevisionShare, str]:
    """A new link for ``label`` (e.g. "Integrationsbeirat"); the token is shown only now."""
    if draft.state is not PlanState.DRAFT or draft.predecessor_id is None:
        raise RevisionError({"label": _("Nur der Entwurf einer Fortschreibung lässt sich "
                                        "so teilen.")})
    if not today < expires_on <= today + timedelta(days=SHARE_DAYS_MAX):
        raise RevisionError({"expires_on": _(
            "Der Link gilt höchstens %(days)d Tage; bitte wählen Sie ein Datum zwischen "
            "morgen und dem %(last)s.", days=SHARE_DAYS_MAX,
            last=datum(today + timedelta(days=SHARE_DAYS_MAX)))})
    token = secrets.token_urlsafe(24)
    share = RevisionShare(plan=draft, label=label.strip(), token_hash=_hash(token),
                          expires_on=expires_on, created_by=user)
    session.add(share)
    session.flush()
    return share, token


def shares_of(session: AnySession, draft: Plan) -> list[RevisionShare]:
    """The draft's links, newest first."""
    return list(session.scalars(select(RevisionShare).where(RevisionShare.plan_id == draft.id)
                                .order_by(RevisionShare.created_at.desc())))


def shared_draft(session: AnySession, token: str, today: date) -> Plan | None:
    """The draft a link opens, if it is valid today and the draft still a draft."""
    if not token or len(token) > 100:
        return None
    share = session.scalars(select(RevisionShare).where(
        RevisionShare.token_hash == _hash(token))).first()
    if share is None or share.revoked_at is not None or share.expires_on < today \
            or share.plan.state is not PlanState.DRAFT:
        return None
    return share.plan


def revoke_share(session: AnySession, share: RevisionShare) -> None:
    """The link stops working at once."""
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        session.flush()


def draft_outline(session: AnySession, draft: Plan) -> list[tuple[Field, list[tuple[
        Goal, list[Measure]]]]]:
    """The draft's active fields, goals and measures, for the read-only view."""
    fields = session.scalars(select(Field).where(Field.plan_id == draft.id,
                                                 Field.archived_at.is_(None))
                             .order_by(Field.position)).all()
    return [(f, [(g, [m for m in g.measures if m.archived_at is None])
                 for g in f.goals if g.archived_at is None]) for f in fields]


def read_proposals(rows: list[OfficeRow], form: Mapping[str, str], draft: Plan
                   ) -> tuple[dict[int, ProposalInput], dict[int, str], dict[int, dict[str, str]]]:
    """The posted proposals per measure id, their errors, and the values to show again."""
    outcomes = {o.value: o for o in Outcome}
    inputs, errors, shown = {}, {}, {}
    for row in rows:
        key = row.measure.id
        if f"outcome-{key}" not in form:
            continue
        outcome = outcomes.get(form.get(f"outcome-{key}", ""), Outcome.CARRIED_OVER)
        values = {"outcome": outcome.value,
                  "reason": form.get(f"reason-{key}", "").strip()[:REASON_MAX + 1],
                  "end": form.get(f"end-{key}", "").strip()[:20],
                  "target": form.get(f"target-{key}", "").strip()[:TARGET_MAX + 1]}
        shown[key] = values
        end = parse_day(values["end"])
        proposal = ProposalInput(outcome, values["reason"], end, values["target"])
        problem = check_proposal(proposal, draft)
        if values["end"] and end is None:
            problem = str(_("Bitte geben Sie das Ende als Datum an (TT.MM.JJJJ)."))
        if problem:
            errors[key] = problem
        inputs[key] = proposal
    return inputs, errors, shown


def shown_proposal(row: OfficeRow) -> dict[str, str]:
    """The stored proposal as the form shows it (continue by default)."""
    p = row.proposal
    if p is None:
        return {"outcome": Outcome.CARRIED_OVER.value, "reason": "", "end": "",
                "target": ""}
    return {"outcome": p.outcome.value, "reason": p.reason,
            "end": datum(p.end_date) if p.end_date else "", "target": p.target_note}
