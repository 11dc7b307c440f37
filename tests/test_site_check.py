"""scripts/check_site.py, which scripts/docs runs on the built site: it must see
every way a page can make the browser reach another host, and let local
resources and plain links through."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_site.py"
if not SCRIPT.exists():
    pytest.skip("no scripts/ beside the tests", allow_module_level=True)
spec = importlib.util.spec_from_file_location("check_site", SCRIPT)
assert spec is not None and spec.loader is not None
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="../assets/stylesheets/main.css">
<link rel="icon" href="../assets/images/favicon.png">
<script src="../assets/javascripts/bundle.js"></script>
{extra}
</head><body>
<a href="https://github.com/fastsignal/fastsignal">the repository</a>
<img src="../report.png" alt="chart">
</body></html>
"""


def site(tmp_path, extra="", css=""):
    (tmp_path / "index.html").write_text(PAGE.format(extra=extra), encoding="utf-8")
    (tmp_path / "extra.css").write_text(css, encoding="utf-8")
    return tmp_path


def test_a_local_site_with_outside_links_passes(tmp_path):
    assert check_site.problems(site(tmp_path, css="a { background: url(x.png) }")) == []
    assert check_site.main([str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        ('<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>', "fonts.gstatic"),
        ('<link href="https://fonts.googleapis.com/css?family=Roboto" rel="stylesheet">', "Roboto"),
        ('<script src="//cdn.example.org/lib.js"></script>', "cdn.example.org"),
        ('<img srcset="a.png 1x, http://img.example.org/b.png 2x">', "img.example.org"),
        ("<style>@import 'https://css.example.org/x.css';</style>", "css.example.org"),
        ('<div style="background: url(https://img.example.org/bg.png)"></div>', "bg.png"),
        ('<a href="https://github.com/x/y" class="md-source" data-md-component="source">', "API"),
    ],
)
def test_each_kind_of_outside_request_is_found(tmp_path, extra, found, capsys):
    problems = check_site.problems(site(tmp_path, extra=extra))
    assert len(problems) == 1 and found in problems[0], problems
    assert check_site.main([str(tmp_path)]) == 1
    assert found in capsys.readouterr().err


def test_a_stylesheet_url_to_another_host_is_found(tmp_path):
    css = "@font-face { src: url('https://fonts.gstatic.com/roboto.woff2') }"
    assert check_site.problems(site(tmp_path, css=css)) == [
        "extra.css: https://fonts.gstatic.com/roboto.woff2"
    ]
