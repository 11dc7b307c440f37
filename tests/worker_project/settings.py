"""Settings of the project that tests background receivers with a real task worker.

``FASTSIGNAL_WORKER_ENGINE`` picks the task engine:

- ``db``: a database queue (django-tasks-db) on SQLite, worker ``manage.py db_worker``;
- ``rq``: RQ (django-tasks-rq), worker ``manage.py rqworker --job-class django_tasks_rq.Job``;
- ``celery``: Celery through django-tasks-celery (Django 6), the app in ``celery_app.py``;
- ``fennel``: Celery through django-tasks-fennel (Django 5.2 and later), its bundled app.

Two ``TASKS`` aliases, ``default`` and ``other``, both with the queues
``default`` and ``search``. ``FASTSIGNAL_WORKER_REDIS`` is the Redis URL of
the RQ and Celery engines (broker and results); ``FASTSIGNAL_WORKER_DB`` names
the database file and ``FASTSIGNAL_WORKER_LOG`` the file the receivers append
to. With ``FASTSIGNAL_WORKER_LAZY`` set, nothing imports the receivers module
at start-up: only code that sends does (as when web code alone imports it).
"""

import os

import django

ENGINE = os.environ.get("FASTSIGNAL_WORKER_ENGINE", "db")
REDIS_URL = os.environ.get("FASTSIGNAL_WORKER_REDIS", "")
QUEUES = ["default", "search"]

SECRET_KEY = "fastsignal-worker-tests"
USE_TZ = True
INSTALLED_APPS = [
    "fastsignal.django",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    *(["django_tasks"] if django.VERSION < (6, 0) else []),  # the backport before 6.0
    *{
        "db": ["django_tasks_db"],
        "rq": ["django_rq", "django_tasks_rq"],
        "celery": [],
        "fennel": ["django_tasks_fennel"],
    }[ENGINE],
    "shop",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["FASTSIGNAL_WORKER_DB"]}
}
BACKEND = {
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend"},
    "celery": {
        "BACKEND": "django_tasks_celery.CeleryBackend",
        "OPTIONS": {"CELERY_APP": "celery_app.app"},
    },
    "fennel": {"BACKEND": "django_tasks_fennel.CeleryBackend"},
}[ENGINE]
TASKS = {alias: {**BACKEND, "QUEUES": QUEUES} for alias in ("default", "other")}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# RQ: every queue of TASKS must be one of django-rq's.
RQ_QUEUES = {name: {"URL": REDIS_URL} for name in QUEUES}

# Celery (CELERY_ names are read by the Celery app): Redis as broker and result
# store, full results (django-tasks-celery reads task names from them), and
# "default" as Celery's default queue, where django-tasks-celery sends the tasks
# of Django's "default" queue.
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXTENDED = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task also reaches the Redis result store, which Celery retries 20
# times a second apart by default: with Redis down, each enqueue would block
# about 20 s before it fails. Two quick retries bound that to about a second.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
