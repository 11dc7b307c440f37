"""Reference implementations used by the differential tests."""
