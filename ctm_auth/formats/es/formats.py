# "2 dic 2026" and "2 dic 2026, 12:29": Spanish writes month names in lower case.
DATE_FORMAT = "j b Y"
DATETIME_FORMAT = "j b Y, H:i"
