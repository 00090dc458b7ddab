"""The earnings page's charts: the numbers behind them and the inline SVG."""

import re
import xml.etree.ElementTree as ET

import pytest

from outtake.ledger import charts
from outtake.ledger.insights import earnings_overview
from outtake.ledger.services import refund
from tests.factories import ready_clip
from tests.ledger.conftest import pay, sell

pytestmark = pytest.mark.django_db


def test_overview_counts_what_was_earned_sold_and_uploaded(people):
    creator, other = people.creators
    kept = sell(people.buyer, [(creator, 2000), (other, 500)])
    pay(kept, people.reviewer)
    refunded = sell(people.buyer, [(creator, 1000)])
    pay(refunded, people.reviewer)
    refund(refunded, reason="test", by=people.reviewer)
    ready_clip(creator, width=3840, height=2160, duration_s=120.0)  # uploaded, never sold
    o = earnings_overview(creator.organization)
    assert len(o.months) == 12 and o.earned[-1].minor == 1700  # 850 refunded again
    assert sum(m.minor for m in o.earned[:-1]) == 0
    assert o.minutes_sold[-1] == 1.0  # the refunded sale does not count
    assert o.minutes_uploaded[-1] == 4.0  # three one-minute clips and the 4K one
    assert [(t, v.minor) for t, v in o.by_tier] == [("1080p", 2000)]
    [(name, share)] = o.top_clips
    assert name == "x.mp4 #1" and share.minor == 1700


def test_charts_are_valid_svg_with_escaped_labels():
    svg = charts.rows("Top <clips>", [("<b>a&b</b>.mp4", 150), ("c", 50)], str)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.get("role") == "img"
    assert "<b>" not in svg and "&lt;b&gt;a&amp;b" in svg
    cols = charts.columns("m", [("01", [0, 3]), ("02", [5, 1])], str, legend=("sold", "up"))
    assert len(ET.fromstring(cols).findall("{http://www.w3.org/2000/svg}rect")) == 6
    assert ET.fromstring(charts.columns("empty", [], str)) is not None


def test_earnings_page_shows_four_inline_charts(client, people):
    creator = people.creators[0]
    pay(sell(people.buyer, [(creator, 2000)]), people.reviewer)
    client.force_login(creator)
    page = client.get("/earnings/").content.decode()
    assert len(re.findall(r'<svg class="chart"', page)) == 4
    assert "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    assert "17.00 USD" in page
