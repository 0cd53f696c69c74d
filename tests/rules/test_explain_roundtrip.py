"""explain_sv and parse_sv are inverses: parse_sv(explain_sv(r)) == r (dateutil's rrulestr reverse test)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rules import Kind, Measure, Period, Quota, Rule, Unit, Window, explain_sv, parse_sv

TODAY = dt.date(2025, 8, 15)
PARTIES = ["Polisen", "Kommunen", "Socialtjänsten", "Skolan", "Fältgruppen", "Räddningstjänsten",
           "Trygghetsrådet", "Fältassistenterna"]
ENTITIES = ["högstadieskola", "skola", "fritidsgård", "tätort", "butik", "klass", "pensionärsförening",
            "gymnasieskola", "stadsdel", "försäljningsställe"]


@st.composite
def quotas(draw: st.DrawFn) -> Quota:
    measure = draw(st.sampled_from(list(Measure)))
    lo = draw(st.none() | st.integers(1, 1500))
    hi = draw(st.none() | st.integers(lo or 1, 2000)) if lo is not None else draw(st.integers(1, 2000))
    return Quota(min=lo, max=hi, measure=measure)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)))
    return Window(start=start, end=start + dt.timedelta(days=draw(st.integers(0, 1500))))


@st.composite
def rules_(draw: st.DrawFn) -> Rule:
    kind = draw(st.sampled_from(list(Kind)))
    counted = kind is Kind.QUOTA or (kind in (Kind.CONDITIONAL, Kind.EVENT) and draw(st.booleans()))
    quota = draw(quotas()) if counted else None
    period = (
        Period(unit=draw(st.sampled_from(list(Unit))), every=draw(st.integers(1, 12)))
        if counted and draw(st.booleans())
        else None
    )
    per = tuple(draw(st.lists(st.sampled_from(ENTITIES), max_size=2, unique=True))) if counted else ()
    return Rule(
        kind=kind,
        quota=quota,
        period=period,
        average=bool(period) and draw(st.booleans()),
        per=per,
        window=draw(st.none() | windows()),
        deadline=draw(st.none() | st.dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31))),
        responsible=tuple(draw(st.lists(st.sampled_from(PARTIES), max_size=3, unique=True))),
        lov=draw(st.none() | st.sampled_from(["sportlov", "påsklov", "höstlov", "jullov", "sommarlov"])),
    )


def _same(a: Rule, b: Rule) -> bool:
    return dataclasses.replace(a, text="") == dataclasses.replace(b, text="")


@settings(max_examples=400, deadline=None)
@given(rules_())
@example(Rule(kind=Kind.QUOTA, quota=Quota(min=1, max=None), period=Period(unit=Unit.TERM),
              per=("högstadieskola",)))
@example(Rule(kind=Kind.QUOTA, quota=Quota(min=1200, max=None, measure=Measure.HOURS),
              period=Period(unit=Unit.YEAR)))
@example(Rule(kind=Kind.QUOTA, quota=Quota(min=5, max=5, measure=Measure.HOURS)))
def test_parse_of_explanation_is_the_rule(rule: Rule) -> None:
    text = explain_sv(rule)
    back = parse_sv(text, today=TODAY)
    assert _same(back, rule), f"{text!r}\n got  {back}\n want {rule}"


def test_summary_of_the_contract_example() -> None:
    rule = parse_sv("Minst en gång per termin och högstadieskola.", today=TODAY)
    assert explain_sv(rule) == "minst 1 gång per termin och högstadieskola"
    assert rule.to_json()["summary"] == "minst 1 gång per termin och högstadieskola"
