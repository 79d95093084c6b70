import pytest

from devops_mlops.adf.schedule import cron_to_recurrence
from devops_mlops.errors import ConfigError

pytestmark = pytest.mark.fast


def test_daily():
    rec = cron_to_recurrence("0 6 * * *")
    assert rec["frequency"] == "Day" and rec["interval"] == 1 and rec["timeZone"] == "UTC"
    assert rec["schedule"] == {"minutes": [0], "hours": [6]}


def test_weekdays_ranges_steps_and_sunday_as_7():
    rec = cron_to_recurrence("*/20 8-10 * * 1-5")
    assert rec["frequency"] == "Week"
    assert rec["schedule"]["minutes"] == [0, 20, 40] and rec["schedule"]["hours"] == [8, 9, 10]
    assert rec["schedule"]["weekDays"] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    assert cron_to_recurrence("0 0 * * 7")["schedule"]["weekDays"] == ["Sunday"]


def test_monthly_and_hourly():
    assert cron_to_recurrence("15 2 1,15 * *")["schedule"]["monthDays"] == [1, 15]
    hourly = cron_to_recurrence("5 * * * *")
    assert hourly["frequency"] == "Day" and hourly["schedule"]["hours"] == list(range(24))


@pytest.mark.parametrize("cron,msg", [("0 6 * 1 *", "restricts the month"), ("0 6 1 * 1", "both day of month"),
                                      ("0 25 * * *", "outside 0-23"), ("0 6 * *", "not a 5-field")])
def test_refused(cron, msg):
    with pytest.raises(ConfigError, match=msg):
        cron_to_recurrence(cron)
