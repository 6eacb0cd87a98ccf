"""Business days: Monday to Friday, less Japan's public holidays when a scenario keeps
them; what a report says was off."""

from __future__ import annotations

from datetime import date, timedelta

from simulations.business_days import holidays_off, is_business_day, weekend_days

GOLDEN_WEEK = date(2026, 5, 2)  # a Saturday: 憲法記念日 on the Sunday, 振替休日 on Wednesday


def test_a_business_day_is_a_weekday_not_a_public_holiday_kept() -> None:
    week = [GOLDEN_WEEK + timedelta(days=i) for i in range(7)]  # Sat 2 .. Fri 8 May
    assert [is_business_day(day, public_holidays=True) for day in week] == [
        False, False, False, False, False, True, True]
    assert [is_business_day(day, public_holidays=False) for day in week] == [
        False, False, True, True, True, True, True]


def test_the_holidays_off_are_those_on_weekdays_only() -> None:
    """A holiday on a Sunday takes no business day (its 振替休日 does): a report saying
    「憲法記念日」 was off would count a day off twice beside the weekends."""
    assert holidays_off(GOLDEN_WEEK, 7, public_holidays=True) == {
        "2026-05-04": "みどりの日", "2026-05-05": "こどもの日", "2026-05-06": "振替休日"}
    assert holidays_off(GOLDEN_WEEK, 7, public_holidays=False) == {}
    assert weekend_days(GOLDEN_WEEK, 7) == 2 and weekend_days(GOLDEN_WEEK, 1) == 1
