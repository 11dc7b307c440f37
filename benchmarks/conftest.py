"""pytest-benchmark configuration: the package configures Django before workloads import."""

import benchmarks  # noqa: F401
