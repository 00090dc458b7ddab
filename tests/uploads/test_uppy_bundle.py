"""The committed Uppy bundle uploads through a real browser to TusApp."""

import hashlib
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tests.conftest import need_tool
from tests.uploads.tus_harness import TOKEN, serve

STATIC = Path(__file__).parents[2] / "src" / "outtake" / "static"
PAGE = """<!doctype html>
<link rel="stylesheet" href="/static/vendor/uppy/uppy.min.css">
<script src="/static/vendor/uppy/uppy.min.js"></script>
<script src="/static/vendor/htmx/htmx.min.js"></script>
<div id="uploader"></div>
<script>
  window.uppy = new Uppy.Uppy({ autoProceed: true })
    .use(Uppy.Dashboard, { inline: true, target: "#uploader" })
    .use(Uppy.Tus, { endpoint: "/uploads/", headers: { Authorization: "Bearer %s" },
                     chunkSize: 100000 })
  uppy.on("complete", (result) => { window.result = result })
</script>
"""


@pytest.mark.e2e
def test_uppy_dashboard_uploads_with_tus(server, tmp_path):
    chromium = need_tool("chromium", "the Uppy browser test")
    import playwright.sync_api as playwright

    data = hashlib.shake_256(b"browser").digest(350_000)
    (tmp_path / "take 1.mp4").write_bytes(data)
    app = Starlette(
        routes=[
            Route("/", lambda request: HTMLResponse(PAGE % TOKEN)),
            Mount("/static", app=StaticFiles(directory=STATIC)),
            Mount("/uploads", app=server.app),
        ]
    )
    with serve(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page()
            page.goto(url)
            assert page.evaluate("typeof htmx.ajax") == "function"
            page.locator("input.uppy-Dashboard-input").first.set_input_files(
                tmp_path / "take 1.mp4"
            )
            page.wait_for_function("window.result !== undefined", timeout=20_000)
            result = page.evaluate("window.result")
        finally:
            browser.close()
    assert len(result["successful"]) == 1 and result["failed"] == []
    [upload] = server.completed
    assert upload.metadata["filename"] == upload.metadata["name"] == "take 1.mp4"
    assert upload.data_path.read_bytes() == data


UPLOADER_PAGE = """<!doctype html>
<link rel="stylesheet" href="/static/vendor/uppy/uppy.min.css">
<script src="/static/vendor/uppy/uppy.min.js"></script>
<label><input type="checkbox" id="attest"> I make these statements</label>
<div id="uploader" data-endpoint="/uploads/" data-token="%s" data-attest="#attest"></div>
<script src="/static/outtake/upload.js"></script>
"""


@pytest.mark.e2e
def test_the_creators_uploader_sends_nothing_before_the_attestation(server, tmp_path):
    chromium = need_tool("chromium", "the Uppy browser test")
    import playwright.sync_api as playwright

    (tmp_path / "take 2.mp4").write_bytes(hashlib.shake_256(b"mine").digest(50_000))
    app = Starlette(
        routes=[
            Route("/", lambda request: HTMLResponse(UPLOADER_PAGE % TOKEN)),
            Mount("/static", app=StaticFiles(directory=STATIC)),
            Mount("/uploads", app=server.app),
        ]
    )
    with serve(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page()
            page.goto(url)
            page.locator("input.uppy-Dashboard-input").first.set_input_files(
                tmp_path / "take 2.mp4"
            )
            upload = page.get_by_role("button", name=re.compile(r"^Upload 1 file"))
            upload.click()
            playwright.expect(page.locator("body")).to_contain_text("Tick the ownership")
            assert server.completed == []
            page.check("#attest")
            upload.click()
            for _ in range(200):  # up to 20 s for the upload to finish on the server
                if server.completed:
                    break
                page.wait_for_timeout(100)
        finally:
            browser.close()
    [sent] = server.completed
    assert sent.metadata["attest"] == "1" and sent.metadata["filename"] == "take 2.mp4"
