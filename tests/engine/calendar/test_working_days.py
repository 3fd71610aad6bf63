"""Specification of the working-day calendar behind SLA deadlines (hari kerja)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.calendar.working_days import WorkingCalendar

JAKARTA = ZoneInfo("Asia/Jakarta")
JAYAPURA = ZoneInfo("Asia/Jayapura")
BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = WorkingCalendar()


def wib(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """Return a moment in Western Indonesian Time (Asia/Jakarta)."""
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def end_of(year: int, month: int, day: int, tz: ZoneInfo = JAKARTA) -> datetime:
    """Return 23:59:59 of a local day."""
    return datetime(year, month, day, 23, 59, 59, tzinfo=tz)


def days(first: date, last: date) -> list[date]:
    """Return every date from `first` to `last`, inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# Working days ---------------------------------------------------------------


def test_a_plain_weekday_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2026, 11, 27))


def test_saturday_and_sunday_are_not_working_days() -> None:
    assert not CALENDAR.is_working_day(date(2026, 11, 28))
    assert not CALENDAR.is_working_day(date(2026, 11, 29))


def test_christmas_day_is_a_public_holiday() -> None:
    assert not CALENDAR.is_working_day(date(2026, 12, 25))
    assert CALENDAR.holiday_name(date(2026, 12, 25)) == "Christmas Day"


def test_christmas_eve_2026_is_collective_leave() -> None:
    assert not CALENDAR.is_working_day(date(2026, 12, 24))
    assert CALENDAR.holiday_name(date(2026, 12, 24)) == "Christmas Joint Holiday"


def test_an_ordinary_weekend_has_no_holiday_name() -> None:
    assert CALENDAR.holiday_name(date(2026, 11, 28)) is None


def test_a_working_day_has_no_holiday_name() -> None:
    assert CALENDAR.holiday_name(date(2026, 11, 27)) is None


def test_new_year_2027_is_a_public_holiday() -> None:
    assert CALENDAR.holiday_name(date(2027, 1, 1)) == "New Year's Day"


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 3, 18), "Day of Silence Joint Holiday"),
        (date(2026, 3, 19), "Day of Silence"),
        (date(2026, 3, 20), "Eid al-Fitr Joint Holiday"),
        (date(2026, 3, 23), "Eid al-Fitr Joint Holiday"),
        (date(2026, 3, 24), "Eid al-Fitr Joint Holiday"),
    ],
)
def test_nyepi_and_eid_al_fitr_2026_close_the_weekdays_around_them(day: date, name: str) -> None:
    assert not CALENDAR.is_working_day(day)
    assert CALENDAR.holiday_name(day) == name


def test_without_collective_leave_christmas_eve_is_a_working_day() -> None:
    calendar = WorkingCalendar(include_collective_leave=False)

    assert calendar.is_working_day(date(2026, 12, 24))
    assert calendar.holiday_name(date(2026, 12, 24)) is None
    assert not calendar.is_working_day(date(2026, 12, 25))


def test_an_extra_holiday_is_a_named_day_off() -> None:
    calendar = WorkingCalendar(extra_holidays={date(2026, 11, 30): "Hari Jadi Batam"})

    assert not calendar.is_working_day(date(2026, 11, 30))
    assert calendar.holiday_name(date(2026, 11, 30)) == "Hari Jadi Batam"


def test_an_extra_working_saturday_is_a_working_day() -> None:
    calendar = WorkingCalendar(extra_working_days=frozenset({date(2026, 11, 28)}))

    assert calendar.is_working_day(date(2026, 11, 28))


def test_an_extra_working_day_overrides_a_holiday_and_hides_its_name() -> None:
    calendar = WorkingCalendar(extra_working_days=frozenset({date(2026, 12, 24)}))

    assert calendar.is_working_day(date(2026, 12, 24))
    assert calendar.holiday_name(date(2026, 12, 24)) is None


def test_holiday_names_can_be_in_indonesian() -> None:
    calendar = WorkingCalendar(language="id")

    assert calendar.holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"


# Deadlines ------------------------------------------------------------------


def test_three_working_days_from_friday_end_on_wednesday() -> None:
    assert CALENDAR.deadline(wib(2026, 11, 27), 3) == end_of(2026, 12, 2)


def test_the_deadline_is_in_the_calendar_time_zone() -> None:
    result = CALENDAR.deadline(datetime(2026, 11, 27, 2, tzinfo=UTC), 3)

    assert result.tzinfo == JAKARTA
    assert result.utcoffset() == timedelta(hours=7)


def test_three_working_days_from_december_23_skip_christmas_and_the_weekend() -> None:
    # 24 collective leave, 25 Christmas, 26-27 weekend: 28, 29, 30 count.
    assert CALENDAR.deadline(wib(2026, 12, 23), 3) == end_of(2026, 12, 30)


def test_without_collective_leave_december_24_counts() -> None:
    calendar = WorkingCalendar(include_collective_leave=False)

    assert calendar.deadline(wib(2026, 12, 23), 3) == end_of(2026, 12, 29)


def test_three_working_days_from_before_nyepi_skip_the_whole_eid_week() -> None:
    # Mar 17 counts; Mar 18-24 are Nyepi, Eid al-Fitr, joint holidays, weekend.
    assert CALENDAR.deadline(wib(2026, 3, 16), 3) == end_of(2026, 3, 26)


def test_eid_without_collective_leave_skips_only_public_holidays_and_weekend() -> None:
    calendar = WorkingCalendar(include_collective_leave=False)

    assert calendar.deadline(wib(2026, 3, 16), 3) == end_of(2026, 3, 20)


def test_a_deadline_crosses_new_year_into_january_2027() -> None:
    # Dec 31 counts; Jan 1 New Year, Jan 2-3 weekend; Jan 4 counts;
    # Jan 5 2027 is Isra' and Mi'raj; Jan 6 counts.
    assert CALENDAR.deadline(wib(2026, 12, 30), 3) == end_of(2027, 1, 6)


def test_the_local_date_of_start_counts_not_the_utc_date() -> None:
    friday_utc_saturday_in_jakarta = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)

    assert CALENDAR.deadline(friday_utc_saturday_in_jakarta, 0) == end_of(2026, 11, 30)


def test_one_second_before_local_midnight_is_still_that_day() -> None:
    last_second_of_friday = datetime(2026, 11, 27, 16, 59, 59, tzinfo=UTC)

    assert CALENDAR.deadline(last_second_of_friday, 0) == end_of(2026, 11, 27)


def test_a_start_at_23_59_59_local_counts_from_the_next_day() -> None:
    thursday_last_second = datetime(2026, 11, 26, 23, 59, 59, tzinfo=JAKARTA)

    assert CALENDAR.deadline(thursday_last_second, 1) == end_of(2026, 11, 27)


def test_jayapura_and_jakarta_differ_for_the_same_instant() -> None:
    # 15:30 UTC is Thursday 22:30 in Jakarta but already Friday 00:30 in Jayapura.
    instant = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    jayapura = WorkingCalendar(timezone="Asia/Jayapura")

    assert CALENDAR.deadline(instant, 1) == end_of(2026, 11, 27)
    assert jayapura.deadline(instant, 1) == end_of(2026, 11, 30, JAYAPURA)


def test_zero_days_on_a_working_day_ends_that_day() -> None:
    assert CALENDAR.deadline(wib(2026, 12, 23, 16), 0) == end_of(2026, 12, 23)


def test_zero_days_on_a_holiday_ends_the_next_working_day() -> None:
    assert CALENDAR.deadline(wib(2026, 12, 24), 0) == end_of(2026, 12, 28)


def test_a_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.deadline(datetime(2026, 11, 27, 9), 3)


def test_a_negative_number_of_days_is_rejected() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        CALENDAR.deadline(wib(2026, 11, 27), -1)


def test_an_extra_holiday_shifts_the_deadline() -> None:
    calendar = WorkingCalendar(extra_holidays={date(2026, 11, 30): "Hari Jadi Batam"})

    assert calendar.deadline(wib(2026, 11, 27), 3) == end_of(2026, 12, 3)


def test_an_extra_working_saturday_brings_the_deadline_forward() -> None:
    calendar = WorkingCalendar(extra_working_days=frozenset({date(2026, 11, 28)}))

    assert calendar.deadline(wib(2026, 11, 27), 3) == end_of(2026, 12, 1)


YEARS_2026_2027 = days(date(2026, 1, 1), date(2027, 12, 31))


@pytest.mark.parametrize("n", [0, 1, 3, 5, 10, 14])
def test_every_deadline_ends_a_working_day(n: int) -> None:
    for day in YEARS_2026_2027:
        result = CALENDAR.deadline(wib(day.year, day.month, day.day), n)

        assert CALENDAR.is_working_day(result.date())
        assert result.timetz().replace(tzinfo=None).isoformat() == "23:59:59"


@pytest.mark.parametrize("n", [1, 3, 5, 10, 14, 60])
def test_exactly_n_working_days_lie_between_start_and_deadline(n: int) -> None:
    for day in YEARS_2026_2027:
        end_day = CALENDAR.deadline(wib(day.year, day.month, day.day), n).date()
        counted = days(day + timedelta(days=1), end_day)

        assert sum(map(CALENDAR.is_working_day, counted)) == n
        assert CALENDAR.is_working_day(end_day)


def test_zero_days_ends_on_the_first_working_day_on_or_after_start() -> None:
    for day in YEARS_2026_2027:
        end_day = CALENDAR.deadline(wib(day.year, day.month, day.day), 0).date()

        assert not any(map(CALENDAR.is_working_day, days(day, end_day)[:-1]))
        assert CALENDAR.is_working_day(end_day)


# Start of day ---------------------------------------------------------------


def test_start_of_day_is_eight_o_clock_local_by_default() -> None:
    saturday_in_jakarta = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)

    assert CALENDAR.start_of_day(saturday_in_jakarta) == wib(2026, 11, 28, 8)


def test_start_of_day_takes_another_hour() -> None:
    assert CALENDAR.start_of_day(wib(2026, 11, 27, 15), 0) == wib(2026, 11, 27, 0)


def test_start_of_day_moves_an_hour_skipped_by_dst_forward() -> None:
    berlin = WorkingCalendar(timezone="Europe/Berlin")
    result = berlin.start_of_day(datetime(2026, 3, 29, 12, tzinfo=BERLIN), 2)

    assert result == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert result.hour == 3


def test_start_of_day_rejects_an_hour_outside_the_day() -> None:
    with pytest.raises(ValueError, match="hour"):
        CALENDAR.start_of_day(wib(2026, 11, 27), 24)


def test_start_of_day_rejects_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.start_of_day(datetime(2026, 11, 27, 9))


# Elapsed working time -------------------------------------------------------


def test_six_hours_on_a_monday_are_a_quarter_working_day() -> None:
    elapsed = CALENDAR.working_days_between(wib(2026, 11, 30, 8), wib(2026, 11, 30, 14))

    assert elapsed == 0.25


def test_friday_noon_to_monday_noon_is_one_working_day() -> None:
    elapsed = CALENDAR.working_days_between(wib(2026, 11, 27, 12), wib(2026, 11, 30, 12))

    assert elapsed == 1.0


def test_christmas_and_the_weekend_do_not_count_as_elapsed_time() -> None:
    elapsed = CALENDAR.working_days_between(wib(2026, 12, 23, 12), wib(2026, 12, 28, 12))

    assert elapsed == 1.0


def test_collective_leave_counts_as_elapsed_time_when_not_included() -> None:
    calendar = WorkingCalendar(include_collective_leave=False)

    elapsed = calendar.working_days_between(wib(2026, 12, 23, 12), wib(2026, 12, 28, 12))

    assert elapsed == 2.0


def test_time_on_a_holiday_counts_for_nothing() -> None:
    elapsed = CALENDAR.working_days_between(wib(2026, 12, 25, 8), wib(2026, 12, 25, 20))

    assert elapsed == 0.0


def test_elapsed_time_is_measured_in_the_calendar_time_zone() -> None:
    # Friday 17:00 to 24:00 in Jakarta, given in UTC.
    start = datetime(2026, 11, 27, 10, tzinfo=UTC)
    end = datetime(2026, 11, 27, 17, tzinfo=UTC)

    assert CALENDAR.working_days_between(start, end) == pytest.approx(7 / 24)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-1)])
def test_no_time_elapses_when_end_is_not_after_start(offset: timedelta) -> None:
    start = wib(2026, 11, 30, 12)

    assert CALENDAR.working_days_between(start, start + offset) == 0.0


def test_elapsed_time_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.working_days_between(wib(2026, 11, 30), datetime(2026, 12, 1, 9))


def test_whole_days_of_elapsed_time_count_the_working_days() -> None:
    first = date(2026, 1, 1)
    for last in days(first, date(2026, 12, 31))[::7]:
        start = wib(first.year, first.month, first.day, 0)
        end = wib(last.year, last.month, last.day, 0)
        expected = sum(map(CALENDAR.is_working_day, days(first, last)[:-1]))

        assert CALENDAR.working_days_between(start, end) == pytest.approx(expected)


def test_half_of_a_23_hour_dst_day_is_measured_in_real_hours() -> None:
    sunday_of_spring_forward = date(2026, 3, 29)
    berlin = WorkingCalendar(
        timezone="Europe/Berlin",
        extra_working_days=frozenset({sunday_of_spring_forward}),
    )
    start = datetime(2026, 3, 29, 0, tzinfo=BERLIN)

    noon = berlin.working_days_between(start, datetime(2026, 3, 29, 12, tzinfo=BERLIN))
    whole = berlin.working_days_between(start, datetime(2026, 3, 30, 0, tzinfo=BERLIN))

    assert noon == pytest.approx(11 / 23)
    assert whole == pytest.approx(1.0)


def test_half_of_a_25_hour_dst_day_is_measured_in_real_hours() -> None:
    sunday_of_fall_back = date(2026, 10, 25)
    berlin = WorkingCalendar(
        timezone="Europe/Berlin",
        extra_working_days=frozenset({sunday_of_fall_back}),
    )
    start = datetime(2026, 10, 25, 0, tzinfo=BERLIN)

    noon = berlin.working_days_between(start, datetime(2026, 10, 25, 12, tzinfo=BERLIN))

    assert noon == pytest.approx(13 / 25)


# Construction ---------------------------------------------------------------


def test_the_default_calendar_is_jakarta_with_collective_leave() -> None:
    calendar = WorkingCalendar.default()

    assert calendar == WorkingCalendar(timezone="Asia/Jakarta")
    assert calendar.include_collective_leave


def test_an_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="time zone"):
        WorkingCalendar(timezone="Asia/Atlantis")


def test_an_unsupported_holiday_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="language"):
        WorkingCalendar(language="xx")


def test_a_calendar_with_extra_holidays_is_hashable_and_compares_by_value() -> None:
    holidays = {date(2026, 11, 30): "Hari Jadi Batam"}

    first = WorkingCalendar(extra_holidays=holidays)
    second = WorkingCalendar(extra_holidays=dict(holidays))

    assert first == second
    assert hash(first) == hash(second)


def test_changing_the_configuring_dict_later_does_not_change_the_calendar() -> None:
    holidays = {date(2026, 11, 30): "Hari Jadi Batam"}
    calendar = WorkingCalendar(extra_holidays=holidays)

    holidays[date(2026, 12, 1)] = "added later"

    assert calendar.is_working_day(date(2026, 12, 1))
