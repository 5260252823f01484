"""hki: keep a city's Handlungskonzept Integration and report on it to the council."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from hki import config
from hki import extensions as ext
from hki.i18n import register_filters
from hki.proxies import TrustedProxies, networks


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` limited to the range of a 32-bit database integer."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


#: Templates and static files live beside the package, as the product's layout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and wire the application; the only place that binds extensions to an app."""
    instance_path = Path(os.environ.get("HKI_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.from_environment(instance_path))
    if test_config is not None:
        app.config.from_mapping(test_config)
    # Ids in URLs must fit the database's integer columns: larger ones are simply "not found".
    app.url_map.converters["int"] = BoundedIntConverter
    if app.config["HKI_PROXY_COUNT"]:
        app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
            app.wsgi_app, app.config["HKI_PROXY_COUNT"],
            networks(app.config["HKI_PROXY_ADDRESSES"]))

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(PROJECT_ROOT / "migrations"))
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=lambda: "de")
    ext.limiter.init_app(app)
    ext.login_manager.init_app(app)
    register_filters(app)

    from hki import cli, errors, health, security, submissions
    from hki.auth import views as auth_views
    from hki.auth.models import User
    from hki.dashboard import views as dashboard_views
    from hki.plan import edit_views
    from hki.plan import views as plan_views
    from hki.reports import views as report_views
    from hki.revision import views as revision_views
    from hki.transfer import views as transfer_views
    from hki.updates import views as update_views
    from hki.updates.queries import open_review_count

    def load_user(session_id: str) -> User | None:
        user_id, _, token = session_id.partition(":")
        user = ext.db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.is_active or not token or token != user.session_token:
            return None
        return user

    ext.login_manager.user_loader(load_user)

    @app.context_processor
    def permissions() -> dict[str, Any]:
        # open_review_count is called only where the menu shows Freigabe (one COUNT query).
        return {"can": security.can, "Action": security.Action,
                "open_review_count": open_review_count,
                "submission_field": submissions.submission_field}

    for blueprint in (plan_views.bp, edit_views.bp, update_views.bp, report_views.bp,
                      auth_views.bp, dashboard_views.bp, transfer_views.bp, revision_views.bp,
                      health.bp):
        app.register_blueprint(blueprint)
    security.register(app)
    errors.register(app)
    cli.register(app)
    _import_models()
    return app


def _import_models() -> None:
    """Import every model module so that metadata (and Alembic) sees all tables."""
    from hki import submissions as _submissions  # noqa: F401
    from hki.auth import audit as _audit  # noqa: F401
    from hki.auth import models as _auth  # noqa: F401
    from hki.dashboard import search as _search  # noqa: F401
    from hki.plan import models as _plan  # noqa: F401
    from hki.reports import models as _reports  # noqa: F401
    from hki.revision import models as _revision  # noqa: F401
    from hki.transfer import models as _transfer  # noqa: F401
    from hki.updates import models as _updates  # noqa: F401
