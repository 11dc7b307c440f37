import json
import os
import sys

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        """In a Celery worker, note what its start-up imported (see ``started``)."""
        if os.environ.get("FASTSIGNAL_WORKER_STARTUP"):
            from celery.signals import worker_ready

            worker_ready.connect(started, weak=False)


def started(**kwargs):
    """Record, once the worker is ready, whether start-up imported the receivers and the task."""
    with open(os.environ["FASTSIGNAL_WORKER_STARTUP"], "a") as f:
        f.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "receivers_imported": "shop.receivers" in sys.modules,
                    "task_imported": "fastsignal.tasks" in sys.modules,
                }
            )
            + "\n"
        )
