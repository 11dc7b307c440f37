"""Build script: the optional Cython engine ``fastsignal._engine_c``.

``FASTSIGNAL_NO_EXTENSIONS=1`` skips the extension (a pure-Python install);
``FASTSIGNAL_REQUIRE_EXTENSIONS=1`` turns a failed compile into an error.
Otherwise a failed compile is reported in the build output and leaves a
working pure-Python package, whose wheel is tagged ``py3-none-any`` so that no
cache serves it where a compiled wheel is expected.

The extension is compiled without debug information (Python's own flags ask
for it, and it would make up most of the ``.so``);
``FASTSIGNAL_DEBUG_BUILD=1`` keeps it, as ``scripts/sanitize`` does.
"""

import os
import sys

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext

NO_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_NO_EXTENSIONS"))
REQUIRE_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"))
DEBUG_BUILD = bool(os.environ.get("FASTSIGNAL_DEBUG_BUILD"))

#: Names of the optional extensions that failed to build in this run.
FAILED_EXTENSIONS = []

FALLBACK_NOTICE = """
{rule}
fastsignal: the compiled engine ({name}) could not be built:
    {error}
Building the pure-Python engine instead: the same behaviour, slower sends.
For the compiled engine, install a C compiler and the Python development
headers and build again; FASTSIGNAL_REQUIRE_EXTENSIONS=1 makes this an error.
{rule}
"""


class BuildExt(build_ext):
    """``build_ext`` that drops debug information and reports a failed optional build."""

    def build_extensions(self):
        if self.compiler.compiler_type == "unix" and not DEBUG_BUILD:
            for extension in self.extensions:
                extension.extra_compile_args.append("-g0")
        super().build_extensions()

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            if not ext.optional:
                raise
            FAILED_EXTENSIONS.append(ext.name)
            notice = FALLBACK_NOTICE.format(rule="*" * 78, name=ext.name, error=error)
            print(notice, file=sys.stderr, flush=True)


class BdistWheel(bdist_wheel):
    """``bdist_wheel`` that tags the wheel pure when no extension was built."""

    def get_tag(self):
        if FAILED_EXTENSIONS:
            self.root_is_pure = True
        return super().get_tag()


def extensions():
    if NO_EXTENSIONS:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
        print(
            "fastsignal: Cython is not installed; building the pure-Python engine only",
            file=sys.stderr,
        )
        return []
    modules = cythonize(
        ["fastsignal/_engine_c.pyx"],
        compiler_directives={"language_level": "3"},
    )
    for module in modules:
        # cythonize() drops the flag when given Extension objects, so set it here.
        module.optional = not REQUIRE_EXTENSIONS
    return modules


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt, "bdist_wheel": BdistWheel})
