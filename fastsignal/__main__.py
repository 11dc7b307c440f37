"""``python -m fastsignal``: one line describing this installation, for bug reports.

It names fastsignal's version, the engine in use and why, the Python and
Django versions, and where the package was imported from.

PYTEST_DONT_REWRITE
"""

import platform
import sys
from pathlib import Path

import fastsignal
from fastsignal._engine import REASON


def _version_of(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def describe() -> str:
    """Return the one-line description that ``python -m fastsignal`` prints."""
    engine = "compiled engine" if fastsignal.COMPILED else "pure-Python engine"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return (
        f"fastsignal {fastsignal.__version__}, {engine} ({REASON}); "
        f"{python} on {platform.system()} {platform.machine()}; "
        f"Django {_version_of('django')}; asgiref {_version_of('asgiref')}; "
        f"at {Path(fastsignal.__file__).parent}"
    )


def main() -> int:
    print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
