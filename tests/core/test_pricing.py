from decimal import Decimal

from outtake.core.pricing import (
    DEFAULT_RATE_CARD,
    ClipFacts,
    RateCard,
    load_rate_card,
    price_clip,
)


def card() -> RateCard:
    return load_rate_card()


def by_code(price):
    return {line.code: line.amount.minor for line in price.lines}


def test_published_defaults():
    c = card()
    assert c.creator_share == Decimal("0.85")
    assert c.payout_minimum == Decimal("10.00")
    assert {t.code: t.per_minute for t in c.video_tiers} == {
        "4k": Decimal("3.00"),
        "1080p": Decimal("1.50"),
        "720p": Decimal("1.00"),
        "sd": Decimal("0.50"),
    }


def test_one_minute_of_1080p_is_150_cents():
    price = price_clip(ClipFacts("video", 1920, 1080, duration_s=60, fps=25), card())
    assert price.sellable and price.tier == "1080p"
    assert by_code(price) == {"1080p": 150}


def test_premiums_are_itemised_lines():
    facts = ClipFacts(
        "video",
        3840,
        2160,
        duration_s=120,
        fps=59.94,
        color_transfer="smpte2084",
        tags=frozenset({"drone"}),
    )
    price = price_clip(facts, card())
    assert by_code(price) == {"4k": 600, "aerial": 200, "hdr": 50, "high_fps": 50}
    assert price.total.minor == 900


def test_exclusive_doubles():
    facts = ClipFacts("video", 1280, 720, duration_s=30, fps=30)
    price = price_clip(facts, card(), exclusive=True)
    assert by_code(price) == {"720p": 50, "exclusive": 50}
    assert price.total.minor == 100


def test_photo_tiers_by_megapixels():
    assert price_clip(ClipFacts("image", 512, 512), card()).total.minor == 5
    assert price_clip(ClipFacts("image", 6000, 4000), card()).total.minor == 50


def test_quality_warning_deducts_and_failure_blocks():
    warn = {"code": "blur", "severity": "warn", "reason": "slightly soft"}
    price = price_clip(ClipFacts("video", 1920, 1080, duration_s=60, problems=(warn,)), card())
    assert by_code(price)["blur"] == -38  # 25 % of 150, half-even
    assert price.sellable
    fail = {"code": "black", "severity": "fail", "reason": "the clip is black"}
    price = price_clip(ClipFacts("video", 1920, 1080, duration_s=60, problems=(fail,)), card())
    assert not price.sellable and price.reasons == ["the clip is black"]


def test_too_short_is_unsellable():
    price = price_clip(ClipFacts("video", 1920, 1080, duration_s=0.4), card())
    assert not price.sellable


def test_rate_card_override_file(tmp_path):
    text = DEFAULT_RATE_CARD.read_text().replace('per_minute = "1.50"', 'per_minute = "2.00"')
    custom = tmp_path / "card.toml"
    custom.write_text(text)
    price = price_clip(ClipFacts("video", 1920, 1080, duration_s=60), load_rate_card(str(custom)))
    assert price.total.minor == 200
