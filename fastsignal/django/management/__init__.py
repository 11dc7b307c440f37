"""Management commands of ``fastsignal.django``."""
