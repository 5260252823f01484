"""Changes to users and organisations; they flush, the caller commits."""

from __future__ import annotations

from sqlalchemy import func, select, update

from hki.auth.models import AuditEntry, User
from hki.db import AnySession
from hki.plan.models import Organisation
from hki.security import hash_password, new_session_token
from hki.vocab import Role


def normalise_email(email: str) -> str:
    """E-mail addresses are compared and stored in lower case without spaces."""
    return email.strip().lower()


def find_user(session: AnySession, email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return session.scalars(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).one_or_none()


def create_user(
    session: AnySession,
    *,
    email: str,
    display_name: str,
    role: Role,
    organisation: Organisation | None,
    password: str | None,
) -> User:
    """Create an account; without a password it cannot log in."""
    user = User(
        session_token=new_session_token(),
        email=normalise_email(email),
        display_name=display_name.strip(),
        role=role,
        organisation=organisation,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: AnySession,
    user: User,
    *,
    display_name: str,
    role: Role,
    organisation: Organisation | None,
    is_active: bool,
    password: str | None = None,
) -> User:
    """Change an account's name, role, organisation, activity and maybe its password."""
    ends_sessions = (role is not user.role or not is_active or bool(password)
                     or organisation is not user.organisation)
    user.display_name = display_name.strip()
    user.role = role
    user.organisation = organisation
    user.is_active = is_active
    if password:
        user.password_hash = hash_password(password)
    if ends_sessions:
        user.session_token = new_session_token()
    session.flush()
    return user


def create_organisation(session: AnySession, name: str) -> Organisation:
    """Add an office or partner organisation."""
    organisation = Organisation(name=name.strip())
    session.add(organisation)
    session.flush()
    return organisation


def update_organisation(
    session: AnySession, organisation: Organisation, *, name: str, is_active: bool
) -> Organisation:
    """Rename or (de)activate an organisation; it is never deleted (reports name it)."""
    organisation.name = name.strip()
    organisation.is_active = is_active
    session.flush()
    return organisation


def record_login_alarm(session: AnySession, email: str, address: str, what: str) -> None:
    """Tell the administration in the audit log: logins refused, or unusually many failures.

    ``what`` is ``gesperrt`` (refused from one address) or ``fehlversuche`` (failures from
    all addresses beyond the daily number). Its own entry, naming the account by id when
    it exists and always the typed address, so attempts on unknown names show up too.
    """
    user = find_user(session, email)
    session.add(AuditEntry(actor="Anmeldung", action=what, entity="users",
                           entity_id=user.id if user else 0,
                           after={"email": email, "adresse": address}))
    session.flush()


def first_session_token(session: AnySession, user: User, token: str) -> None:
    """Give an account its first session token, once, even if it logs in twice at once.

    A conditional UPDATE: of simultaneous first logins one sets the token and the others
    read it, so all of them get sessions that stay valid (a plain assignment let the
    last writer silently end the others' sessions).
    """
    session.execute(update(User).where(User.id == user.id, User.session_token == "")
                    .values(session_token=token).execution_options(synchronize_session=False))
    session.commit()
    session.refresh(user)
