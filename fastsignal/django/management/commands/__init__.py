"""``python manage.py signals``."""
