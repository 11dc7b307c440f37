"""The project's Celery app, as Celery's Django guide writes it (django-tasks-celery uses it).

A worker: ``celery -A celery_app worker -Q default,search``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

app = Celery("worker_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
