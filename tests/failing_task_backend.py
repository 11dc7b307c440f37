"""A task backend whose ``enqueue`` fails, as it does when the broker is down."""

try:
    from django.tasks.backends.dummy import DummyBackend
except ImportError:  # Django before 6.0: the backport
    from django_tasks.backends.dummy import DummyBackend


class BrokerDown(ConnectionError):
    pass


class FailingBackend(DummyBackend):
    def enqueue(self, task, args, kwargs):
        raise BrokerDown("the broker is down")
