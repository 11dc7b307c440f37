"""fastsignal's benchmarks. They run in a Django project of their own, configured here
unless settings were configured before: in-memory SQLite, contenttypes and auth (the
background receiver workloads send ``post_save`` for ``django.contrib.auth``'s ``User``)."""

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    )
    django.setup()
