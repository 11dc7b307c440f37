"""The code examples of the documentation run, and show what they claim.

Each page of ``docs/`` and ``README.md`` is one test. Its fenced code blocks run
in the order of the page, in one namespace (a fresh one for each page):

- a ``python`` block is executed;
- a ``pycon`` block (a ``>>>`` session), or a ``python`` block that starts
  with ``>>>``, is checked with doctest, in the same namespace, with
  ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``;
- blocks in other languages (``sh``, ``console``, ``text``, ``toml``, ...) are
  not run.

An HTML comment on the line just before a block's opening fence changes that:

- ``<!-- skip: REASON -->``: the block is not run. For what cannot run as it
  is: a settings fragment, code that needs a project of its own. The reason is
  required. Prefer making an example runnable.
- ``<!-- test: without-django -->``: the block runs with fastsignal's standalone
  transaction scope (``set_backend(StandaloneBackend())``), which is what
  ``on_commit`` uses in a process where Django is not configured.

A marker anywhere else (not followed by a ``python`` or ``pycon`` block, or with
an unknown name) fails the page's test.

The pages run in the Django project that ``conftest.py`` configures (in-memory
SQLite, contenttypes and auth), made to look like a project that uses
fastsignal:

- the tables exist (auth's, and ``txapp``'s ``Profile``);
- fastsignal's Django integration is installed, as ``"fastsignal.django"`` in
  ``INSTALLED_APPS`` installs it (and uninstalled after the page if it was not
  installed before);
- the namespace's package is ``txapp``, so ``from .models import Profile``
  imports ``txapp.models.Profile``: a model with a one-to-one ``user`` field;
- every ``unittest.TestCase`` subclass that the page defines (a
  ``django.test.TestCase`` included) is run after the page's blocks, and must
  pass.

After each page, the users it created are deleted (their profiles with them),
and its namespace is dropped, so its weakly connected receivers go too.

The pages are found beside the tests (``tests/../docs`` and
``tests/../README.md``): in a checkout, and in an unpacked sdist, also when the
suite runs against an installed wheel. Where they are absent, the test skips.
"""

import doctest
import gc
import io
import re
import unittest
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("django")

from django.core.management import call_command
from django.db import connection

import fastsignal.django
from fastsignal.transaction import StandaloneBackend, set_backend

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
PAGES = [page for page in PAGES if page.is_file()]

RUN_LANGUAGES = {"python": "exec", "pycon": "doctest"}
MARKER = re.compile(r"\s*<!--\s*(skip|test)\s*:\s*(.*?)\s*-->\s*")
FENCE = re.compile(r"(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)")
TEST_MODES = {"without-django"}


@dataclass
class Block:
    """One fenced code block of a page."""

    lineno: int  # of the first line of code (1-based)
    language: str
    code: str
    skip: str | None = None  # the reason, when marked <!-- skip: ... -->
    mode: str | None = None  # <!-- test: ... -->

    @property
    def runs(self):
        return self.language in RUN_LANGUAGES and self.skip is None


def read_blocks(path):
    """The fenced code blocks of the Markdown file ``path``, with their markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    marker = None  # (kind, value, lineno) of a marker on the previous line
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.fullmatch(line)
        if opening is None:
            if marker is not None:
                raise ValueError(f"{path.name}:{marker[2]}: a marker must precede a code fence")
            found = MARKER.fullmatch(line)
            if found:
                marker = (found.group(1), found.group(2), i + 1)
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        words = opening["info"].strip().strip("{}").split()
        language = words[0].lstrip(".").lower() if words else ""
        body = []
        i += 1
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence) and not closing.strip(fence[0]):
                break
            line = lines[i]
            body.append(line[indent:] if not line[:indent].strip() else line.lstrip())
            i += 1
        block = Block(lineno=i - len(body) + 1, language=language, code="\n".join(body) + "\n")
        if marker is not None:
            kind, value, lineno = marker
            if language not in RUN_LANGUAGES:
                raise ValueError(f"{path.name}:{lineno}: a marker before a {language!r} block")
            if kind == "skip":
                if not value:
                    raise ValueError(f"{path.name}:{lineno}: <!-- skip: ... --> needs a reason")
                block.skip = value
            elif value in TEST_MODES:
                block.mode = value
            else:
                raise ValueError(f"{path.name}:{lineno}: unknown <!-- test: {value} -->")
            marker = None
        blocks.append(block)
        i += 1  # past the closing fence
    return blocks


def _page_id(path):
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def database():
    from txapp.models import Profile

    if "auth_user" not in connection.introspection.table_names():
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    if Profile._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Profile)


@pytest.fixture
def project(database):
    """The Django project a page runs in; cleaned up after the page."""
    from django.contrib.auth.models import User

    from txapp.models import Profile

    was_installed = fastsignal.django.is_installed()
    assert fastsignal.django.install()
    backend = set_backend(None)
    users = set(User.objects.values_list("pk", flat=True))
    yield
    gc.collect()  # the page's namespace is gone: so are its weak receivers
    set_backend(backend)
    created = User.objects.exclude(pk__in=users)
    Profile.objects.filter(user__in=created).delete()
    created.delete()
    if not was_installed:
        with warnings.catch_warnings():
            # Deferred receivers a page connected strongly are disconnected, with a warning.
            warnings.simplefilter("ignore", fastsignal.django.FastSignalWarning)
            fastsignal.django.uninstall()


def run_block(path, block, namespace):
    if block.language == "pycon" or block.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            block.code, namespace, f"{path.name}:{block.lineno}", str(path), block.lineno - 1
        )
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
        report = []
        runner.run(test, out=report.append, clear_globs=False)
        if runner.failures:
            pytest.fail("".join(report), pytrace=False)
        return
    # Padded so that tracebacks give the page's own line numbers (and show its lines).
    code = compile("\n" * (block.lineno - 1) + block.code, str(path), "exec")
    exec(code, namespace)


def run_test_cases(namespace):
    """Run the ``unittest.TestCase`` classes the page defined; fail unless all pass."""
    for value in list(namespace.values()):
        if not (
            isinstance(value, type)
            and issubclass(value, unittest.TestCase)
            and value.__module__ == namespace["__name__"]
        ):
            continue
        stream = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(value)
        result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
        if not result.wasSuccessful() or not result.testsRun:
            pytest.fail(f"{value.__qualname__}:\n{stream.getvalue()}", pytrace=False)


@pytest.mark.parametrize(
    "path",
    PAGES
    or [pytest.param(None, marks=pytest.mark.skip(reason="no docs/ beside the tests directory"))],
    ids=_page_id if PAGES else None,
)
def test_page_examples(path, project):
    blocks = read_blocks(path)
    # ``from .models import Profile`` resolves in the package ``txapp``.
    namespace = {"__name__": "txapp.docs_example", "__package__": "txapp"}
    try:
        for block in blocks:
            if not block.runs:
                continue
            if block.mode == "without-django":
                previous = set_backend(StandaloneBackend())
                try:
                    run_block(path, block, namespace)
                finally:
                    set_backend(previous)
            else:
                run_block(path, block, namespace)
        run_test_cases(namespace)
    finally:
        namespace.clear()


def test_markers_are_read():
    """The conventions above, on a page written for the purpose."""
    page = """\
Text.

<!-- skip: a settings fragment -->
```python
INSTALLED_APPS = [...]
```

<!-- test: without-django -->
``` python
x = 1
```

```pycon
>>> 1 + 1
2
```

```sh
echo not run
```
"""
    path = Path(__file__).parent / "page.md"
    blocks = read_blocks(_Fake(path, page))
    assert [(b.language, b.skip, b.mode, b.runs) for b in blocks] == [
        ("python", "a settings fragment", None, False),
        ("python", None, "without-django", True),
        ("pycon", None, None, True),
        ("sh", None, None, False),
    ]
    assert blocks[1].code == "x = 1\n" and blocks[1].lineno == 10
    for wrong in (
        "<!-- skip: -->\n```python\nx\n```\n",
        "<!-- test: sometimes -->\n```python\nx\n```\n",
        "<!-- skip: reason -->\n\n```python\nx\n```\n",
        "<!-- skip: reason -->\n```sh\nx\n```\n",
    ):
        with pytest.raises(ValueError):
            read_blocks(_Fake(path, wrong))


class _Fake:
    """A stand-in for a ``Path`` to a page with the text ``text``."""

    def __init__(self, path, text):
        self.name = path.name
        self._text = text

    def read_text(self, encoding):
        return self._text
