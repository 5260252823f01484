"""Every code of every vocabulary has its own German word, also where codes coincide."""

from __future__ import annotations

from flask import Flask

from hki.vocab import Decision, LabelledEnum, Outcome, PlanState, Priority, ReportKind, Role


def test_each_member_has_its_own_label(app_ctx: Flask) -> None:
    vocabularies: list[type[LabelledEnum]] = [Priority, PlanState, Role, Outcome, ReportKind,
                                              Decision]
    for vocabulary in vocabularies:
        for member in vocabulary:
            assert str(member.label), member
    # "closed" is a code of both: the plan is abgeschlossen, the measure ends with the plan.
    assert PlanState.CLOSED.value == Outcome.CLOSED.value
    assert str(PlanState.CLOSED.label) == "abgeschlossen"
    assert str(Outcome.CLOSED.label) == "mit dem Plan beenden"
