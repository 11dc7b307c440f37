"""Settings of the project that tests background receivers with a real task worker.

A database queue (django-tasks-db) on SQLite; ``FASTSIGNAL_WORKER_DB`` names the
database file and ``FASTSIGNAL_WORKER_LOG`` the file the receivers append to.
"""

import os

import django

SECRET_KEY = "fastsignal-worker-tests"
USE_TZ = True
INSTALLED_APPS = [
    "fastsignal.django",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    *(["django_tasks"] if django.VERSION < (6, 0) else []),  # the backport before 6.0
    "django_tasks_db",
    "shop",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["FASTSIGNAL_WORKER_DB"]}
}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
