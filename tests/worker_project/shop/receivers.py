"""Background receivers: each appends what it got, and in which process, to the log."""

import json
import os

from django.db.models.signals import post_delete, post_save

from fastsignal import Signal, receiver

order_paid = Signal()
order_shipped = Signal()
search_requested = Signal()
order_audited = Signal()


def log(**entry):
    with open(os.environ["FASTSIGNAL_WORKER_LOG"], "a") as f:
        f.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


def supports_priority():
    """Whether the task backend takes priorities (RQ refuses them)."""
    try:
        from django.tasks import task_backends
    except ImportError:  # Django before 6.0: the backport
        from django_tasks import task_backends
    return task_backends["default"].supports_priority


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
        **({"priority": 10} if supports_priority() else {}),
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


@receiver(order_shipped, background=True)
async def shipped(sender, order, carrier, **kwargs):
    log(receiver="shipped", order=order.reference, carrier=carrier)
    return f"{order.reference} by {carrier}"


@receiver(search_requested, background={"queue_name": "search"})
def reindex(sender, order, **kwargs):
    log(receiver="reindex", order=order.reference)
    return order.pk


@receiver(order_audited, background={"backend": "other"})
def audit(sender, order, note, **kwargs):
    log(receiver="audit", order=order.reference, note=note)
    return note
