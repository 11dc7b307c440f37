"""Check a built fastsignal wheel: what it holds and how it is tagged.

Usage: python scripts/check_wheel.py WHEEL [--pure]

A platform wheel must hold the compiled engine (built without debug
information), ``py.typed``, the stubs and the LICENSE, and no generated C; a
``--pure`` wheel (built without a compiler) must be tagged ``py3-none-any`` and
hold no compiled module. Prints one line per wheel: name, size, tag.
"""

import argparse
import sys
import zipfile
from pathlib import Path

REQUIRED = (
    "fastsignal/__init__.py",
    "fastsignal/__init__.pyi",
    "fastsignal/dispatcher.pyi",
    "fastsignal/_engine_c.pyi",
    "fastsignal/py.typed",
    "fastsignal/django/apps.py",
)
#: ELF and Mach-O section names of DWARF debug information.
DEBUG_SECTIONS = (b".debug_info", b"__debug_info")


def problems(wheel, pure):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        found = []
        for required in REQUIRED:
            if required not in names:
                found.append(f"missing {required}")
        if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
            found.append("missing the LICENSE (dist-info/licenses/LICENSE)")
        found += [f"generated C shipped: {name}" for name in names if name.endswith(".c")]
        engines = [
            n for n in names if n.startswith("fastsignal/_engine_c.") and n[-3:] in (".so", "pyd")
        ]
        tag = wheel.name.rsplit("-", 3)[1:]
        if pure:
            if tag != ["py3", "none", "any.whl"]:
                found.append(f"a pure wheel must be tagged py3-none-any, not {'-'.join(tag)}")
            found += [f"a pure wheel holds a compiled module: {name}" for name in engines]
        else:
            if not engines:
                found.append("no compiled engine (fastsignal/_engine_c.*.so or .pyd)")
            for name in engines:
                data = archive.read(name)
                if any(section in data for section in DEBUG_SECTIONS):
                    found.append(f"{name} carries debug information")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="+", type=Path)
    parser.add_argument("--pure", action="store_true", help="expect a pure-Python wheel")
    args = parser.parse_args(argv)
    status = 0
    for wheel in args.wheels:
        found = problems(wheel, args.pure)
        size = wheel.stat().st_size / 1024
        print(f"{wheel.name}: {size:.0f} KiB, {'FAILED' if found else 'ok'}")
        for problem in found:
            print(f"  {problem}")
        status = status or bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main())
