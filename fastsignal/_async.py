"""Running async receivers, with Django 6.1's semantics.

Async receivers of one send run concurrently in an ``asyncio.TaskGroup`` that
shares one copied ``contextvars`` context; what they set in it is visible to the
caller afterwards. A lone failure is re-raised as itself, not wrapped in an
exception group.
"""

import asyncio
import contextvars

from ._common import call_receivers, log_robust_failure


def _restore_context(context):
    """Copy the variables that ``context`` changed back into the current context."""
    for cvar in context:
        value = context.get(cvar)
        try:
            if cvar.get() is value or cvar.get() == value:
                continue
        except LookupError:
            pass
        cvar.set(value)


async def run_parallel(coros):
    """Await ``coros`` concurrently in one shared context; return their results in order."""
    if not coros:
        return []
    context = contextvars.copy_context()
    results = [None] * len(coros)

    async def run(index, coro):
        results[index] = await coro

    try:
        async with asyncio.TaskGroup() as group:
            for index, coro in enumerate(coros):
                group.create_task(run(index, coro), context=context)
        return results
    except BaseExceptionGroup as group_error:
        if len(group_error.exceptions) == 1:
            raise group_error.exceptions[0] from None
        raise
    finally:
        for coro in coros:
            coro.close()  # never-started coroutines must not warn
        _restore_context(context)


async def _robust(receiver, coro):
    try:
        return await coro
    except Exception as err:
        log_robust_failure(receiver, err)
        return err


async def gather_responses(signal, sender, named, receivers, robust):
    """Call async ``receivers`` concurrently; return ``[(receiver, response), ...]``."""
    coros = [receiver(signal=signal, sender=sender, **named) for receiver in receivers]
    if robust:
        coros = [_robust(receiver, coro) for receiver, coro in zip(receivers, coros)]
    return list(zip(receivers, await run_parallel(coros)))


def send_async_receivers(signal, sender, named, receivers, robust):
    """Run async ``receivers`` from synchronous code, as ``Signal.send`` does.

    Raises ``RuntimeError`` (from asgiref) when called inside a running event loop.
    """
    from asgiref.sync import async_to_sync

    async def runner():
        return await gather_responses(signal, sender, named, receivers, robust)

    return async_to_sync(runner)()


async def asend(signal, sender, named, robust):
    """Body of ``Signal.asend``/``asend_robust``: sync receivers in one thread hop, then async ones."""
    from asgiref.sync import sync_to_async

    sync_receivers, async_receivers = signal._live_receivers(sender)
    responses = []
    if sync_receivers:
        responses = await sync_to_async(call_receivers)(
            signal, sender, named, sync_receivers, robust
        )
    responses.extend(await gather_responses(signal, sender, named, async_receivers, robust))
    return responses

