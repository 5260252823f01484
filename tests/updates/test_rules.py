"""The status rules of status.md, called directly."""

from __future__ import annotations

import pytest
from flask import Flask

from hki.updates.rules import check_update
from hki.vocab import Status


@pytest.fixture(autouse=True)
def _ctx(app_ctx: Flask) -> None:
    """Messages are translated, so the rules run in an app context."""


@pytest.mark.parametrize(
    ("status", "progress", "note", "finite", "field"),
    [
        (Status.COMPLETED, 80, "", True, "progress"),
        (Status.IN_PROGRESS, 100, "", True, "progress"),
        (Status.IN_PROGRESS, None, "", True, "progress"),
        (Status.PLANNED, 30, "", True, "progress"),
        (Status.ONGOING, 50, "", False, "progress"),
        (Status.NOT_STARTED, 10, "", True, "progress"),
        (Status.DELAYED, 40, "  ", True, "note"),
        (Status.ON_HOLD, 40, "", True, "note"),
        (Status.DISCONTINUED, None, "", True, "note"),
    ],
)
def test_rule_violations_name_the_field(
    status: Status, progress: int | None, note: str, finite: bool, field: str
) -> None:
    checked = check_update(status, progress, note, finite=finite)
    assert list(checked.errors) == [field]


def test_normalises_and_accepts_valid_updates() -> None:
    assert check_update(Status.COMPLETED, None, "", finite=True).progress == 100
    assert check_update(Status.NOT_STARTED, None, "", finite=True).progress == 0
    assert check_update(Status.IN_PROGRESS, None, "", finite=False).errors == {}
    assert check_update(Status.ONGOING, None, "", finite=False).errors == {}
    assert check_update(Status.DELAYED, 40, "Träger fehlt", finite=True).errors == {}


def test_reopening_a_finished_measure_needs_a_reason() -> None:
    reopened = check_update(Status.IN_PROGRESS, 50, "", finite=True, previous=Status.COMPLETED)
    assert "bereits „abgeschlossen“" in reopened.errors["note"]
    assert (
        check_update(Status.COMPLETED, 100, "", finite=True, previous=Status.COMPLETED).errors == {}
    )


def test_messages_are_german() -> None:
    errors = check_update(Status.PLANNED, 30, "", finite=True).errors
    assert errors["progress"] == "Bei „in Planung“ liegt der Fortschritt zwischen 0 und 20 %."
