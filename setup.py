"""Build script: the optional Cython engine ``fastsignal._engine_c``.

``FASTSIGNAL_NO_EXTENSIONS=1`` skips the extension (a pure-Python install);
``FASTSIGNAL_REQUIRE_EXTENSIONS=1`` turns a failed compile into an error.
Otherwise a failed compile leaves a working pure-Python install.

The extension is compiled without debug information (Python's own flags ask
for it, and it would make up most of the ``.so``);
``FASTSIGNAL_DEBUG_BUILD=1`` keeps it, as ``scripts/sanitize`` does.
"""

import os

from setuptools import setup
from setuptools.command.build_ext import build_ext

NO_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_NO_EXTENSIONS"))
REQUIRE_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"))
DEBUG_BUILD = bool(os.environ.get("FASTSIGNAL_DEBUG_BUILD"))


class BuildExt(build_ext):
    """``build_ext`` that drops debug information with gcc and clang."""

    def build_extensions(self):
        if self.compiler.compiler_type == "unix" and not DEBUG_BUILD:
            for extension in self.extensions:
                extension.extra_compile_args.append("-g0")
        super().build_extensions()


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


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
