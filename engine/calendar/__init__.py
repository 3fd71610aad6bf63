"""Calendar: working days ("hari kerja", HK) for SLA deadlines.

- `working_days`  `WorkingCalendar`: weekends, Indonesian public holidays, configured days; deadlines at 23:59
- `days`          the days an admin configures on top of the public calendar
"""
