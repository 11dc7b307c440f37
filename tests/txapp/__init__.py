"""A tiny Django app for the transaction tests: ``Profile``, created after a ``User`` commits.

Its model declares ``app_label = "txapp"``, so it works whether or not
``"txapp"`` is in ``INSTALLED_APPS``; the tests create its table themselves
when ``migrate`` did not.
"""
