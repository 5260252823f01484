"""Flask extensions, created unbound so that ``create_app`` alone wires them to an app."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from hki.db import Base

db = SQLAlchemy(model_class=Base)
# Batch mode lets Alembic alter tables on SQLite (which cannot ALTER most things) with the
# same migration scripts that run natively on PostgreSQL.
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)

if TYPE_CHECKING:
    # Flask-SQLAlchemy builds ``db.Model`` at run time from ``Base``; mypy only knows ``Base``.
    Model = Base
else:
    Model = db.Model
