import os

from django.db import models


class Order(models.Model):
    reference = models.CharField(max_length=20)
    total = models.IntegerField(default=0)


if not os.environ.get("FASTSIGNAL_WORKER_LAZY"):
    from . import receivers  # noqa: F401  (connects the receivers)
