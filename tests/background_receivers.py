"""Module-level signals and receivers for the background receiver tests.

A task worker finds receivers and signals by import path, so they live here,
in a module importable as ``background_receivers`` (``tests/`` is on sys.path).
``CALLS`` records what each receiver got when it ran.
"""

import fastsignal

compiled_signal = fastsignal.Signal()
python_signal = fastsignal.PySignal()

CALLS = []


def record(signal, sender, **kwargs):
    CALLS.append({"signal": signal, "sender": sender, **kwargs})
    return len(CALLS)


def record_user(signal, sender, instance, **kwargs):
    CALLS.append(
        {
            "sender": sender,
            "instance": instance,
            "username": instance.username,
            "in_database": not instance._state.adding,
            **kwargs,
        }
    )
    return instance.username


async def record_async(signal, sender, **kwargs):
    CALLS.append({"sender": sender, "async": True, **kwargs})
    return "async"


class Handlers:
    def method(self, sender, **kwargs):
        pass

    @staticmethod
    def static(sender, **kwargs):
        pass


def record_fields(signal, sender, instance, **kwargs):
    CALLS.append({"sender": sender, "instance": instance, **kwargs})
