# "2 Dec 2026" and "2 Dec 2026, 12:29": no "Dec." or "p.m." whose period
# doubles at the end of a sentence, and the same order in every country.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
