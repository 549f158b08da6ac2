import os

from django.core.wsgi import get_wsgi_application

from benchmarks.peers.querycount import counting

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.peers.allauth_site.settings")
application = counting(get_wsgi_application())
