"""safe_filename: examples, then properties over arbitrary text."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outtake.uploads.filenames import MAX_BYTES, safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.mp4", "x.mp4"),
        ("C:\\Users\\me\\Videos\\take 3.mov", "take 3.mov"),
        ("dir/", "upload"),
        ("..", "upload"),
        (".", "upload"),
        ("", "upload"),
        ("\x00\x01\x7f", "upload"),
        ("bad\x00name\n.mp4", "badname.mp4"),
        ("movie\u202egnp.exe", "moviegnp.exe"),
        ("  .hidden.jpg. ", "hidden.jpg"),
        ("a..b...c.mp4", "a.b.c.mp4"),
        ("e\u0301te\u0301.mov", "\u00e9t\u00e9.mov"),  # NFD from macOS becomes NFC
        ("vid\u00e9o\u2028.mp4", "vid\u00e9o.mp4"),
    ],
)
def test_examples(name, expected):
    assert safe_filename(name) == expected


def test_long_names_keep_their_extension_within_200_bytes():
    name = safe_filename("é" * 300 + ".mp4")
    assert name.endswith(".mp4")
    assert len(name.encode()) <= MAX_BYTES
    assert name.startswith("é")
    assert safe_filename("x" * 300).startswith("x") and len(safe_filename("x" * 300)) == 200
    # A "long extension" is just part of the name.
    assert len(safe_filename("a." + "b" * 300).encode()) == MAX_BYTES


@given(st.text())
def test_result_is_always_a_safe_single_component(name):
    result = safe_filename(name)
    assert result
    assert result not in {".", ".."}
    assert ".." not in result
    assert "/" not in result and "\\" not in result
    assert not any(unicodedata.category(char) in {"Cc", "Cs"} for char in result)
    assert len(result.encode("utf-8")) <= MAX_BYTES
    assert unicodedata.is_normalized("NFC", result)
    assert safe_filename(result) == result


@given(st.text(min_size=1), st.sampled_from(["/", "\\", "../", "..\\"]))
def test_only_the_last_component_survives(tail, separator):
    assert safe_filename("secret" + separator + tail) == safe_filename(tail)
