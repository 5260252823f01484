"""Load the illustrative demo HKI into the database.

The data ships inside the package (``example_plan.yaml``), so the app never reads the
team's shared folder at run time. Loading is idempotent: a second run finds the plan by
its title and changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from hki.auth.audit import effective_from
from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan, TargetGroup
from hki.security import hash_password
from hki.updates.models import StatusUpdate, UpdateReview
from hki.vocab import Decision, PlanState, Priority, Role, Status

#: The author label the demo data uses for the coordination office itself.
COORDINATION_AUTHOR = "KMuT"
COORDINATION_ORGANISATION = "Jugendamt – Migrationsbüro (KMuT)"
BERLIN = ZoneInfo("Europe/Berlin")
#: Demo updates are taken as written two weeks after the date they describe.
RECORDING_DELAY = timedelta(days=14)


#: One login per role, named in the README. The password is public: demo use only.
DEMO_PASSWORD = "hki-demo-2026"  # noqa: S105 (public demo password, documented)
DEMO_ACCOUNTS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("admin@demo.hki.invalid", "Demo Administration", Role.ADMIN, None),
    ("koordination@demo.hki.invalid", "Demo Koordination (KMuT)", Role.COORDINATOR,
     COORDINATION_ORGANISATION),
    ("vhs@demo.hki.invalid", "Demo Fachstelle VHS", Role.OFFICE, "VHS Wilhelmshaven"),
    ("rat@demo.hki.invalid", "Demo Ratsmitglied", Role.READER, None),
)


@dataclass(frozen=True)
class SeedResult:
    """What a seed run created (``plan`` is ``None`` when the plan was already there)."""

    plan: Plan | None
    measures: int = 0
    updates: int = 0
    accounts: tuple[User, ...] = ()


def load_demo_data() -> dict[str, Any]:
    """Read the demo plan shipped with the package."""
    text = resources.files("hki.demo").joinpath("example_plan.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _slug(text: str) -> str:
    """Turn a German label into an e-mail-safe name ("VHS – Fachbereich" → "vhs-fachbereich")."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return re.sub(r"[^a-z0-9]+", "-", text.encode("ascii", "ignore").decode()).strip("-")


class _Lookup:
    """Get-or-create for organisations, target groups and authors within one seed run."""

    def __init__(self, session: AnySession) -> None:
        self.session = session
        self.organisations: dict[str, Organisation] = {
            o.name: o for o in session.scalars(select(Organisation))
        }
        self.target_groups: dict[str, TargetGroup] = {
            t.name: t for t in session.scalars(select(TargetGroup))
        }
        self.users: dict[str, User] = {u.display_name: u for u in session.scalars(select(User))}

    def organisation(self, name: str) -> Organisation:
        if name not in self.organisations:
            self.organisations[name] = Organisation(name=name)
            self.session.add(self.organisations[name])
        return self.organisations[name]

    def target_group(self, name: str) -> TargetGroup:
        if name not in self.target_groups:
            self.target_groups[name] = TargetGroup(name=name)
            self.session.add(self.target_groups[name])
        return self.target_groups[name]

    def author(self, label: str, lead: Organisation) -> User:
        """The demo user behind an author label; first seen writing for ``lead``."""
        if label not in self.users:
            is_kmut = label == COORDINATION_AUTHOR
            self.users[label] = User(
                email=f"{_slug(label)}@demo.hki.invalid",
                display_name=label,
                role=Role.COORDINATOR if is_kmut else Role.OFFICE,
                organisation=self.organisation(COORDINATION_ORGANISATION) if is_kmut else lead,
            )
            self.session.add(self.users[label])
        return self.users[label]


def seed_demo(session: AnySession, now: datetime | None = None) -> SeedResult:
    """Create the demo plan and the demo accounts, each only if missing; never commits.

    The plan's history is dated as if it had been kept in hki all along: the plan as
    adopted counts from the adoption date, a measure added later from its start.
    """
    data = load_demo_data()
    meta = data["meta"]
    if session.scalar(select(Plan.id).where(Plan.title == meta["title"])) is not None:
        return SeedResult(plan=None, accounts=_demo_accounts(session, _Lookup(session)))
    now = now or utcnow()
    lookup = _Lookup(session)
    adopted = _moment(meta["adopted_on"])
    all_measures = [m for f in data["fields"] for g in f["goals"] for m in g["measures"]]
    with effective_from(adopted):
        for m in all_measures:
            for name in [m["lead"], *m["partners"]]:
                lookup.organisation(name)
            for name in _target_groups(m):
                lookup.target_group(name)
        plan = Plan(
            title=meta["title"], city=meta["city"], owner_unit=meta["owner_unit"],
            description=meta["note"], valid_from=meta["valid_from"],
            valid_to=meta["valid_to"], adopted_on=meta["adopted_on"], state=PlanState.ADOPTED,
        )
        session.add(plan)
        goals: list[tuple[Goal, dict[str, Any]]] = []
        for f_pos, f in enumerate(data["fields"]):
            field = Field(number=f["number"], title=f["title"],
                          description=f.get("description", ""), position=f_pos)
            plan.fields.append(field)
            for g_pos, g in enumerate(f["goals"]):
                goal = Goal(number=g["number"], title=g["title"],
                            description=g.get("description", ""), position=g_pos)
                field.goals.append(goal)
                goals.append((goal, g))
        session.flush()
    updates = 0
    for goal, g in goals:
        for m_pos, m in enumerate(g["measures"]):
            with effective_from(max(adopted, _moment(m["start"]))):
                measure = _measure(m, m_pos, lookup, plan)
                goal.measures.append(measure)
                for u in m["updates"]:
                    session.add(_update(u, measure, lookup, now))
                    updates += 1
                session.flush()
    accounts = _demo_accounts(session, lookup)
    return SeedResult(plan=plan, measures=len(all_measures), updates=updates, accounts=accounts)


def _moment(day: date) -> datetime:
    """Midnight in Berlin at the start of a day, as a UTC timestamp."""
    return datetime.combine(day, time(0, 0), tzinfo=BERLIN).astimezone(UTC)


def _target_groups(m: dict[str, Any]) -> list[str]:
    """The demo data lists target groups comma-separated in one string."""
    return list(dict.fromkeys(t.strip() for t in m["target_group"].split(",") if t.strip()))


def _demo_accounts(session: AnySession, lookup: _Lookup) -> tuple[User, ...]:
    """Create the missing demo logins, one per role."""
    existing = set(session.scalars(select(User.email)))
    created = []
    for email, name, role, organisation in DEMO_ACCOUNTS:
        if email in existing:
            continue
        user = User(
            email=email, display_name=name, role=role,
            organisation=lookup.organisation(organisation) if organisation else None,
            password_hash=hash_password(DEMO_PASSWORD),
        )
        session.add(user)
        created.append(user)
    session.flush()
    return tuple(created)


def _measure(m: dict[str, Any], position: int, lookup: _Lookup, plan: Plan) -> Measure:
    """Build a measure with its partners, target groups and indicator."""
    end: date | None = m["end"]
    indicator = m["indicator"]
    return Measure(
        number=m["number"],
        title=m["title"],
        description=m.get("description", ""),
        lead=lookup.organisation(m["lead"]),
        partners=[lookup.organisation(p) for p in dict.fromkeys(m["partners"])],
        target_groups=[lookup.target_group(t) for t in _target_groups(m)],
        start_date=m["start"],
        end_date=end,
        priority=Priority(m["priority"]),
        position=position,
        indicators=[
            Indicator(
                name=indicator["name"],
                unit=indicator["unit"],
                baseline_value=indicator["baseline"],
                baseline_date=m["start"],
                target_value=indicator["target"],
                target_date=end or plan.valid_to,
            )
        ],
    )


def _update(u: dict[str, Any], measure: Measure, lookup: _Lookup, now: datetime) -> StatusUpdate:
    """Build a historical update, taken as recorded two weeks after the date it describes."""
    as_of: date = u["date"]
    recorded = datetime.combine(as_of + RECORDING_DELAY, time(9, 0), tzinfo=UTC)
    author = lookup.author(u["author"], measure.lead)
    recorded_at = min(recorded, now)
    return StatusUpdate(
        measure=measure,
        as_of=as_of,
        status=Status(u["status"]),
        progress=u["progress"],
        note=u.get("note") or "",
        author=author,
        recorded_at=recorded_at,
        # History from before hki: taken as accepted when it was recorded.
        review=UpdateReview(decision=Decision.ACCEPTED, reviewer=author, decided_at=recorded_at),
    )
