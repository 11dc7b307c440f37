"""Send from this process: each scenario prints one JSON line of what the sends returned.

Each line also lists, under ``"enqueued"``, the tasks the scenario enqueued, as
the task framework's ``task_enqueued`` signal reported them. ``--reset`` first
empties the queues and results of the engine (see settings.py).
"""

import json
import logging
import os
import sys
import time
from importlib import import_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()

from django.conf import settings
from django.db import transaction
from shop.models import Order
from shop.receivers import order_audited, order_paid, order_shipped, search_requested

ENQUEUED = []


def enqueued(sender, task_result, **kwargs):
    ENQUEUED.append(
        {
            "id": str(task_result.id),
            "receiver": task_result.args[0],
            "backend": task_result.backend,
            "queue": task_result.task.queue_name,
            "priority": task_result.task.priority,
        }
    )


# django.tasks from Django 6.0, the backport before (django-tasks-rq signals its own).
for framework in ("django.tasks.signals", "django_tasks.signals"):
    try:
        import_module(framework).task_enqueued.connect(enqueued, weak=False)
    except ImportError:
        pass


def reset():
    if settings.ENGINE == "db":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()
    else:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()


def report(scenario, **facts):
    print(json.dumps({"scenario": scenario, **facts, "enqueued": ENQUEUED}), flush=True)
    ENQUEUED.clear()


def commit():
    with transaction.atomic():
        order = Order.objects.create(reference="commit", total=10)
        Order.objects.filter(pk=order.pk).update(total=20)  # committed before the worker runs
        waiting = [
            call.waiting for _, call in order_paid.send(sender="shop", order=order, amount=5)
        ]
    report("commit", waiting_in_transaction=waiting)


def rollback():
    try:
        with transaction.atomic():
            Order.objects.create(reference="rollback", total=1)
            raise RuntimeError
    except RuntimeError:
        pass
    report("rollback")


def savepoints():
    with transaction.atomic():
        Order.objects.create(reference="outer", total=1)
        try:
            with transaction.atomic():
                Order.objects.create(reference="inner", total=2)
                raise RuntimeError
        except RuntimeError:
            pass
        Order.objects.create(reference="after", total=3)
    report("savepoints")


def cannot_travel():
    order = Order.objects.create(reference="travel", total=4)
    try:
        order_paid.send(sender="shop", order=order, amount=object())
    except TypeError as error:
        report("cannot_travel", error=str(error))


def deleted_row():
    order = Order.objects.create(reference="deleted", total=7)
    order.delete()
    report("deleted_row")


def async_receiver():
    with transaction.atomic():
        order = Order.objects.create(reference="async", total=3)
        order_shipped.send(sender="shop", order=order, carrier="post")
    report("async_receiver")


def routing():
    order = Order.objects.create(reference="routed", total=2)
    search_requested.send(sender="shop", order=order)
    report("routing")


def second_alias():
    order = Order.objects.create(reference="audited", total=6)
    order_audited.send(sender="shop", order=order, note="checked")
    report("second_alias")


def broker_down():
    """send_robust, then send, with the broker down: what the request sees at commit."""
    records = []
    capture = logging.Handler()
    capture.emit = records.append
    logging.getLogger("django.dispatch").addHandler(capture)
    Order.objects.bulk_create([Order(reference="down", total=1)])  # no post_save sent
    order = Order.objects.filter(reference="down").latest("pk")

    later = []
    start = time.perf_counter()
    with transaction.atomic():
        [(receiver, call)] = order_paid.send_robust(sender="shop", order=order, amount=1)
        transaction.on_commit(lambda: later.append("robust"))
    robust_seconds = time.perf_counter() - start

    start = time.perf_counter()
    try:
        with transaction.atomic():
            order_paid.send(sender="shop", order=order, amount=2)
            transaction.on_commit(lambda: later.append("plain"))
        raised = None
    except Exception as error:
        raised = qualified(type(error))
    plain_seconds = time.perf_counter() - start
    report(
        "broker_down",
        receiver=receiver.__name__,
        error=qualified(type(call.error)) if call.error is not None else None,
        waiting=call.waiting,
        logged=[(r.levelname, r.getMessage(), r.exc_info is not None) for r in records],
        later=later,
        raised=raised,
        robust_seconds=robust_seconds,
        plain_seconds=plain_seconds,
    )


def qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


for name in sys.argv[1:]:
    if name == "--reset":
        reset()
    else:
        globals()[name]()
