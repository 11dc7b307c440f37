"""List the Cython and C compiler warnings in a build log, each with where it comes from.

Used by scripts/check-build:

    python scripts/build_warnings.py BUILD_LOG GENERATED_C [--ignore-boilerplate]

Prints one line per distinct warning and exits 1 when there is any (0 when
there is none). Each C warning in the generated file is attributed to one of:

- ``pyx``: C code that Cython generated for a line of the .pyx (the line is named,
  from Cython's ``/* "file.pyx":N`` comments);
- ``verbatim C``: the project's own C, the ``cdef extern from *`` blocks of the
  .pyx that Cython copies verbatim into the file;
- ``Cython boilerplate``: Cython's utility code (named by its ``/* Name */``
  comment), which the project cannot change;
- ``header``: a Python or system header.

With ``--ignore-boilerplate``, warnings from Cython's utility code and from
headers are listed but do not fail the check.
"""

import os
import re
import sys

CYTHON_WARNING = re.compile(r"^(warning|performance hint): (.+?):(\d+):(\d+): (.*)$")
GCC_WARNING = re.compile(r"^(.+?):(\d+):(?:(\d+):)? warning: (.*?)(?: \[(-W[^\]]+)\])?$")
PYX_COMMENT = re.compile(r'^\s*/\* "([^"]+\.pyx)":(\d+)')
DEFINITION = re.compile(
    r"^(?!static CYTHON_UNUSED\b)(?:static\s+)?"  # not a forward declaration of an unused one
    r"(?:[A-Za-z_][\w]*[\s\*]+)+?\**([A-Za-z_]\w*)\s*[\(\[]"  # type words, then the name
)
UTILITY_COMMENT = re.compile(r"^/\* ([A-Za-z0-9_.]+(?: [A-Za-z0-9_.]+)?) \*/$")


def verbatim_region(c_lines):
    """The 0-based line range where Cython puts the ``cdef extern from *`` blocks.

    They follow "/* Early includes */", before the filename table, among
    Cython's own includes and macros.
    """
    early = next(
        (i for i, text in enumerate(c_lines) if text.startswith("/* Early includes */")), None
    )
    end = next(
        (
            i
            for i, text in enumerate(c_lines)
            if text.startswith("/* #### Code section: filename_table")
        ),
        None,
    )
    return early, end


def verbatim_lines(pyx_path):
    """The stripped lines of the .pyx's ``cdef extern from *`` C blocks (their docstrings)."""
    try:
        with open(pyx_path, encoding="utf-8") as source:
            text = source.read()
    except OSError:
        return set()
    lines = set()
    for block in re.finditer(r'cdef extern from \*[^\n]*:\s*\n\s*"""(.*?)"""', text, re.S):
        lines.update(line.strip() for line in block.group(1).splitlines() if len(line.strip()) > 3)
    return lines


def classify(c_lines, region, verbatim, line_number):
    """Where line ``line_number`` (1-based) of the generated C file comes from."""
    early, end = region
    index = line_number - 1
    if early is not None and end is not None and early < index < end:
        if c_lines[index].strip() in verbatim:
            return "verbatim C", "cdef extern from * block"
        return "Cython boilerplate", "module header"
    # Walk back to the start of the enclosing top-level block (the previous "}" in
    # column 0); a .pyx comment on the way means code generated for that .pyx line.
    for i in range(index, -1, -1):
        text = c_lines[i]
        match = PYX_COMMENT.match(text)
        if match:
            pyx_file, pyx_lineno = match.group(1), int(match.group(2))
            return ("pyx", f"{pyx_file}:{pyx_lineno}: {pyx_line(pyx_file, pyx_lineno)}")
        if i < index and text.startswith("}"):
            break
    # Name the enclosing definition and the utility code section it belongs to.
    name = section = None
    for i in range(index, -1, -1):
        text = c_lines[i]
        if name is None:
            match = DEFINITION.match(text)
            if match:
                name = match.group(1)
        match = UTILITY_COMMENT.match(text)
        if match:
            section = match.group(1)
            break
    detail = "; ".join(
        part for part in (name and f"near {name}", section and f"utility code {section}") if part
    )
    return "Cython boilerplate", detail or "?"


_pyx_cache = {}


def pyx_line(path, number):
    if path not in _pyx_cache:
        try:
            with open(path, encoding="utf-8") as source:
                _pyx_cache[path] = source.read().splitlines()
        except OSError:
            _pyx_cache[path] = []
    lines = _pyx_cache[path]
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    ignore_boilerplate = "--ignore-boilerplate" in argv
    if len(args) != 2:
        sys.exit(__doc__)
    log_path, c_path = args
    with open(log_path, encoding="utf-8", errors="replace") as log:
        log_lines = log.read().splitlines()
    c_lines = []
    if os.path.exists(c_path):
        with open(c_path, encoding="utf-8", errors="replace") as c_file:
            c_lines = c_file.read().splitlines()
    c_name = os.path.basename(c_path)
    region = verbatim_region(c_lines)
    verbatim = verbatim_lines(os.path.splitext(c_path)[0] + ".pyx")

    failing, tolerated, seen = [], [], set()
    for text in log_lines:
        match = CYTHON_WARNING.match(text)
        if match:
            kind, path, line, column, message = match.groups()
            entry = f"Cython {kind}: {path}:{line}:{column}: {message}"
            if entry not in seen:
                seen.add(entry)
                (failing if kind == "warning" else tolerated).append(entry)
            continue
        match = GCC_WARNING.match(text)
        if not match:
            continue
        path, line, column, message, flag = match.groups()
        flag = flag or "-W?"
        if os.path.basename(path) == c_name and c_lines:
            origin, detail = classify(c_lines, region, verbatim, int(line))
        else:
            origin, detail = "header", path
        where = f"{c_name if origin != 'header' else path}:{line}" + (
            f":{column}" if column else ""
        )
        entry = f"C {flag}: {origin}: {where}: {message} [{detail}]"
        if entry in seen:
            continue
        seen.add(entry)
        if ignore_boilerplate and origin in ("Cython boilerplate", "header"):
            tolerated.append(entry)
        else:
            failing.append(entry)

    for entry in failing:
        print(entry)
    for entry in tolerated:
        print(f"(not failing) {entry}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
