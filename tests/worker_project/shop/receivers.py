"""Background receivers: each appends what it got, and in which process, to the log."""

import json
import os

from django.db.models.signals import post_delete, post_save

from fastsignal import Signal, receiver

order_paid = Signal()


def log(**entry):
    with open(os.environ["FASTSIGNAL_WORKER_LOG"], "a") as f:
        f.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


@receiver(post_save, sender="shop.Order", background=True)
def order_saved(sender, instance, created, **kwargs):
    if instance._state.adding:  # deleted before the worker ran: only its key travelled
        log(receiver="order_saved", sender=sender._meta.label, pk=instance.pk, in_database=False)
        return None
    log(
        receiver="order_saved",
        sender=sender._meta.label,
        reference=instance.reference,
        total=instance.total,
        created=created,
        in_database=not instance._state.adding,
        update_fields=sorted(kwargs["update_fields"] or []),
    )
    return instance.reference


@receiver(
    post_delete,
    sender="shop.Order",
    background={
        "queue_name": "default",
        "priority": 10,
        "fields": {"instance": ["reference", "total"]},
    },
)
def order_deleted(sender, instance, **kwargs):
    log(
        receiver="order_deleted",
        reference=instance.reference,
        total=instance.total,
        in_database=not instance._state.adding,
    )


@receiver(order_paid, background=True)
def receipt(sender, order, amount, **kwargs):
    log(receiver="receipt", sender=sender, order=order.reference, amount=amount)
