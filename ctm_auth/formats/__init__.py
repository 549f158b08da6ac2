"""The project's date formats, per language (FORMAT_MODULE_PATH).

Only what differs from Django's own locale formats is here. ctm_auth.dates
shows every date and time people read through these two names: DATE_FORMAT
for a day, DATETIME_FORMAT for a moment (it appends the time zone).
"""
