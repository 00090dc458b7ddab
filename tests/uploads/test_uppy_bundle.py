"""The committed Uppy bundle uploads through a real browser to TusApp."""

import hashlib
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
