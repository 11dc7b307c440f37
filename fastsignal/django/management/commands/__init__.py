"""``python manage.py signals``.

PYTEST_DONT_REWRITE
"""
