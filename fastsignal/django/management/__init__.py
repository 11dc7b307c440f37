"""Management commands of ``fastsignal.django``.

PYTEST_DONT_REWRITE
"""
