"""The whole path in headless Chromium against a real exchange.

A creator signs up and uploads through Uppy, sets terms and tags; a buyer finds the clip, gets a
quote and accepts it; a reviewer records the bank transfer in the admin; the buyer downloads the
package and the creator sees the earnings and the notices. Screenshots of the pages go to
$OUTTAKE_SCREENSHOTS when set (to look at them), else to the test's tmp folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from outtake.core.money import Money
from tests.conftest import FIXTURES, need_tool

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A real clip with no people in it, so it is sellable without model releases.
VIDEO = FIXTURES / "video" / "te-doorknob-hd-no-bar.mp4"
PASSWORD = "correct horse battery"
SLOW_MS = 120_000  # ingest and package building run in the server's worker


@pytest.fixture(scope="session")
def chromium() -> str:
    """Asked for before the exchange, so a machine without chromium skips without starting it."""
    return need_tool(CHROMIUM, "browser tests")


@pytest.fixture
def browser(chromium):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("OUTTAKE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_page(browser, exchange, **options):
    context = browser.new_context(
        base_url=exchange.base_url,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
        **options,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def sign_up(page, role: str, org: str, email: str) -> None:
    page.goto(f"/signup/?role={role}")
    expect(page.locator(f"input[name=role][value={role}]")).to_be_checked()
    page.fill("#id_organization", org)
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    if role == "creator":
        page.check("#id_owns_rights")
    page.get_by_role("button", name="Create account").click()


def image_loaded(locator) -> bool:
    """Wait for a (lazy) image to finish loading; false if it never shows a picture."""
    locator.scroll_into_view_if_needed()
    try:
        locator.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=locator.element_handle(),
            timeout=30_000,
        )
    except PlaywrightTimeout:
        return False
    return True


def test_creator_to_buyer_in_a_browser(chromium, exchange, browser, shots):
    uid = uuid.uuid4().hex[:8]
    marker = f"web-{uid}"  # a tag only this test's clip carries, in a shared exchange

    # A creator signs up and uploads through Uppy.
    creator = new_page(browser, exchange)
    sign_up(creator, "creator", "Ana Films", f"ana-{uid}@example.org")
    creator.wait_for_url("**/footage/")
    creator.locator("input.uppy-Dashboard-input").first.set_input_files(VIDEO)
    creator.check("#attest")  # the ownership statements, for this upload
    creator.get_by_role("button", name=re.compile(r"^Upload 1 file")).click()
    ready = creator.locator("#assets tr[data-status='ready']")
    expect(ready).to_have_count(1, timeout=SLOW_MS)
    asset_id = ready.get_attribute("data-asset")
    expect(ready).to_contain_text(VIDEO.name)
    assert image_loaded(ready.locator("img.thumb"))
    creator.screenshot(path=shots / "footage.png", full_page=True)

    # Default terms: fine-tuning constrained, training stays allowed.
    creator.goto("/terms/")
    creator.check("input[name=use_fine_tuning][value=constrained]")
    creator.fill("#id_constraint_fine_tuning", "non-commercial research only")
    expect(creator.locator("input[name=use_ai_training][value=allowed]")).to_be_checked()
    creator.get_by_role("button", name="Save as a new version").click()
    expect(creator.locator(".messages")).to_contain_text("Saved as version 1")
    expect(creator.locator(".history")).to_contain_text("Fine-tuning: constrained")
    creator.screenshot(path=shots / "terms.png", full_page=True)

    # Tag the asset "drone": the drone premium appears in its price lines.
    creator.goto(f"/assets/{asset_id}/")
    creator.check("input[name=suggested][value=drone]")
    creator.fill("#id_other", marker)
    creator.get_by_role("button", name="Save tags").click()
    expect(creator.locator(".messages")).to_contain_text("Tags saved")
    expect(creator.locator("table.lines").first).to_contain_text("Drone / aerial")
    creator.screenshot(path=shots / "asset.png", full_page=True)
    creator.goto("/account/")
    pseudonym = creator.locator("dd code").inner_text()

    # A buyer signs up, browses the catalogue: a thumbnail and public facts, no original.
    buyer = new_page(browser, exchange)
    sign_up(buyer, "buyer", "Frontier Lab", f"lab-{uid}@example.org")
    buyer.wait_for_url("**/catalogue/")
    card = buyer.locator(".clip-card", has_text=marker)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(pseudonym)
    assert image_loaded(card.locator("img.thumb"))
    assert card.locator("a").all_inner_texts() == ["Report this clip"]  # no way to an original
    html = buyer.content()
    assert VIDEO.stem not in html and "originals/" not in html
    buyer.screenshot(path=shots / "catalogue.png", full_page=True)

    # A dataset request gives a quote with the clip; the buyer accepts it.
    buyer.goto("/requests/new/")
    buyer.fill("#id_title", "Aerial footage")
    buyer.fill("#id_tags_required", f"drone, {marker}")
    buyer.fill("#id_budget", "100")
    expect(buyer.locator("input[name=uses_needed][value=ai_training]")).to_be_checked()
    buyer.get_by_role("button", name="Get a quote").click()
    buyer.wait_for_url("**/quotes/**")
    item = buyer.locator(".quote-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(pseudonym)
    expect(item).to_contain_text("Drone / aerial")
    expect(buyer.locator("main")).to_contain_text("Best quality first")
    clip_id = item.get_attribute("data-clip")
    buyer.screenshot(path=shots / "quote.png", full_page=True)
    buyer.locator("#accept").click()
    buyer.wait_for_url("**/licenses/**")
    license_url = buyer.url
    invoice = re.search(r"Invoice (OUT-\d+)", buyer.locator("main").inner_text())[1]
    total = buyer.locator(".quote-total .big").inner_text()
    expect(buyer.locator("main")).to_contain_text("bank transfer")
    buyer.screenshot(path=shots / "license-awaiting-payment.png", full_page=True)

    # A reviewer marks the bank transfer received in the admin.
    info = exchange.create_user("reviewer", f"rev-{uid}@example.org")
    reviewer = new_page(browser, exchange)
    reviewer.goto("/admin/login/?next=/admin/")
    reviewer.fill("#id_username", info["email"])
    reviewer.fill("#id_password", info["password"])
    reviewer.locator("input[type=submit]").click()
    reviewer.wait_for_url("**/admin/")
    reviewer.goto("/admin/ledger/invoice/")
    reviewer.locator("#result_list tr", has_text=invoice).locator("input.action-select").check()
    reviewer.select_option("select[name=action]", "mark_transfer_received")
    reviewer.locator("button[name=index]").click()
    reviewer.fill("#id_reference", f"BANK-{uid}")
    reviewer.locator("input[name=apply]").click()
    expect(reviewer.locator(".messagelist")).to_contain_text(f"{invoice}: marked paid.")

    # The buyer's license page updates itself until the package can be downloaded.
    buyer.goto(license_url)
    expect(buyer.locator("#download")).to_be_visible(timeout=SLOW_MS)
    buyer.screenshot(path=shots / "license-ready.png", full_page=True)
    buyer.locator("#download").click()
    # The package is a list of signed, expiring links: shards, index and documents.
    shard_link = buyer.locator("a", has_text="shards/shard-000000.tar")
    expect(shard_link).to_be_visible(timeout=SLOW_MS)
    expect(buyer.locator("a", has_text="MANIFEST.sha256").first).to_be_visible()
    buyer.screenshot(path=shots / "package-files.png", full_page=True)
    with buyer.expect_download() as download_info:
        shard_link.click()
    shard = Path(download_info.value.path())
    with tarfile.open(shard) as tar:
        sample = json.loads(tar.extractfile(f"{clip_id}.json").read())
    video_sha256 = hashlib.sha256(VIDEO.read_bytes()).hexdigest()
    assert sample["provenance"]["clip_id"] == clip_id
    assert sample["provenance"]["original_sha256"] == video_sha256

    # The creator's share is payable, and the inbox says so.
    price = Money.from_decimal(Decimal(total.split()[0].replace(",", "")), total.split()[1])
    share = price.times(Decimal("0.85"))
    creator.goto("/earnings/")
    expect(creator.locator("#payable")).to_have_text(str(share))
    expect(creator.locator("tbody")).to_contain_text("Frontier Lab")
    creator.screenshot(path=shots / "earnings.png", full_page=True)
    creator.goto("/inbox/")
    expect(creator.locator(".notice[data-kind='asset.ready']")).to_have_count(1)
    expect(creator.locator(".notice[data-kind='earnings']")).to_have_count(1)
    creator.screenshot(path=shots / "inbox.png", full_page=True)

    # The same pages hold up on a phone.
    phone = new_page(browser, exchange, is_mobile=True)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.context.add_cookies(buyer.context.cookies())
    phone.goto(license_url)
    phone.screenshot(path=shots / "license-phone.png", full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
