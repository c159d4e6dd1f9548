"""The end-to-end harness itself: a real server with auth, and an offline JupyterLab page."""

import urllib.error

import pytest
from lab import open_lab


def test_api_is_authenticated(lab):
    (lab.root / "harness").mkdir()
    (lab.root / "harness" / "hello.txt").write_text("hi")
    listing = lab.api("GET", "api/contents/harness")
    assert [item["name"] for item in listing["content"]] == ["hello.txt"]
    lab.token, token = "wrong", lab.token
    try:
        with pytest.raises(urllib.error.HTTPError) as err:
            lab.api("GET", "api/contents/harness")
        assert err.value.code == 403
    finally:
        lab.token = token
    lab.api("DELETE", "api/contents/harness/hello.txt")


def test_open_lab_shows_launcher_offline(lab, page):
    open_lab(page, lab)
    assert page.locator(".jp-Launcher").is_visible()
    assert page.locator(".jp-Dialog").count() == 0  # e.g. no "Path Not Found"
    assert page.title() != ""
