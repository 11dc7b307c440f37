"""Send from this process: each scenario prints one JSON line of what the sends returned."""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()

from django.db import transaction
from shop.models import Order
from shop.receivers import order_paid


def report(scenario, **facts):
    print(json.dumps({"scenario": scenario, **facts}), flush=True)


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


for name in sys.argv[1:]:
    globals()[name]()
