"""Speed figures for ctm-auth (`make bench`). Tests check behaviour; this measures time."""
