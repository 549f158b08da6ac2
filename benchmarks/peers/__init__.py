"""ctm-auth beside django-two-factor-auth, django-allauth and bare Django, over HTTP (see __main__.py)."""
