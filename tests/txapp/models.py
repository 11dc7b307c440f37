from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="txapp_profile"
    )

    class Meta:
        app_label = "txapp"


class VisibleTickets(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(archived=False)


class Ticket(models.Model):
    """A UUID primary key, and a default manager that hides archived rows."""

    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=40)
    archived = models.BooleanField(default=False)

    objects = VisibleTickets()

    class Meta:
        app_label = "txapp"
        base_manager_name = "all_tickets"

    all_tickets = models.Manager()
