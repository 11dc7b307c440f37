"""fastsignal's public API in typed code: this module passes ``mypy --strict``.

It shows a custom ``Signal``; ``@receiver`` with ``sender`` and ``dispatch_uid``;
``connect``/``disconnect`` with ``weak=False``; ``send`` and ``send_robust`` and
what they return; ``has_listeners``; ``asend`` with an async receiver; and, without
Django, receivers and callbacks that wait for fastsignal's own ``atomic()`` block
to commit. Run it with ``python examples/typed_usage.py`` (async receivers need
asgiref, which Django installs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastsignal import DEFERRED, Signal, atomic, on_commit, receiver

order_paid = Signal()
order_shipped = Signal()


class Shop:
    """The sender."""


@receiver(order_paid, sender=Shop, dispatch_uid="receipt")
def send_receipt(sender: type[Shop], order: int, **kwargs: Any) -> str:
    return f"receipt for order {order}"


@receiver(order_paid, on_commit=True)
def hand_to_delivery(sender: object, order: int, **kwargs: Any) -> None:
    print(f"  order {order} handed to delivery")


@receiver(order_shipped, sender=Shop)
async def notify_customer(sender: type[Shop], order: int, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    return f"customer told that order {order} shipped"


def reserve_stock(sender: object, order: int, **kwargs: Any) -> int:
    raise LookupError(f"order {order}: out of stock")


@atomic
def pay(order: int) -> list[tuple[Callable[..., Any], Any]]:
    """Runs in a transaction: deferred receivers run once it commits."""
    responses = order_paid.send(sender=Shop, order=order)
    print(f"  order {order} paid; nothing delivered before the commit")
    return responses


async def ship(order: int) -> list[str]:
    responses = await order_shipped.asend(sender=Shop, order=order)
    return [str(response) for _receiver, response in responses]


def main() -> None:
    logging.getLogger("django.dispatch").addHandler(logging.NullHandler())

    print("send, outside any transaction:")
    for func, response in order_paid.send(sender=Shop, order=1):
        shown = "deferred to commit" if response is DEFERRED else repr(response)
        print(f"  {func.__name__}: {shown}")

    print("send_robust, with a failing receiver held strongly:")
    order_paid.connect(reserve_stock, weak=False)
    for func, response in order_paid.send_robust(sender=Shop, order=2):
        if isinstance(response, Exception):
            print(f"  {func.__name__} failed: {response}")
    removed: bool = order_paid.disconnect(reserve_stock)
    print(f"  reserve_stock disconnected: {removed}")

    print("a transaction that commits:")
    responses = pay(3)
    print(f"  {len(responses)} responses")

    print("a transaction that rolls back:")
    try:
        with atomic():
            on_commit(lambda: print("  never printed"))
            order_paid.send(sender=Shop, order=4)
            raise RuntimeError("card declined")
    except RuntimeError as error:
        print(f"  rolled back ({error}): order 4 never handed to delivery")

    print("asend:")
    if order_shipped.has_listeners(Shop):
        for line in asyncio.run(ship(5)):
            print(f"  {line}")


if __name__ == "__main__":
    main()
