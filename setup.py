"""Build script: the optional Cython engine ``fastsignal._engine_c``.

``FASTSIGNAL_NO_EXTENSIONS=1`` skips the extension (a pure-Python install);
``FASTSIGNAL_REQUIRE_EXTENSIONS=1`` turns a failed compile into an error.
Otherwise a failed compile leaves a working pure-Python install.
"""

import os

from setuptools import setup

NO_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_NO_EXTENSIONS"))
REQUIRE_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"))


def extensions():
    if NO_EXTENSIONS:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
        return []
    modules = cythonize(
        ["fastsignal/_engine_c.pyx"],
        compiler_directives={"language_level": "3"},
    )
    for module in modules:
        # cythonize() drops the flag when given Extension objects, so set it here.
        module.optional = not REQUIRE_EXTENSIONS
    return modules


setup(ext_modules=extensions())
