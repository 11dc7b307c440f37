"""Print the task results in the queue as JSON (task path, status, return value);
with ``--clear``, then empty the queue."""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()

from django_tasks_db.models import DBTaskResult

print(
    json.dumps(
        [
            {
                "task": result.task_path,
                "status": result.status,
                "receiver": result.args_kwargs["args"][0],
                "args": result.args_kwargs["args"],
                "return_value": result.return_value,
                "priority": result.priority,
            }
            for result in DBTaskResult.objects.order_by("enqueued_at")
        ]
    )
)

if "--clear" in sys.argv:
    DBTaskResult.objects.all().delete()
