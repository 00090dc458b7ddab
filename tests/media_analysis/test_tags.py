"""Tags from all results of a shot and the probe."""

from __future__ import annotations

from outtake.media.analysis.tags import client_tags, is_aerial, shot_tags

VIDEO = {"kind": "video", "width": 1920, "height": 1080, "fps": 25.0, "has_audio": True}


def test_technical_tags_follow_the_probe():
    info = {**VIDEO, "width": 3840, "height": 2160, "fps": 59.94, "color_transfer": "smpte2084"}
    assert {"4k", "high_fps", "hdr"} <= set(shot_tags({}, info))


def test_aerial_from_drone_metadata_or_altitude_not_a_handheld_dji():
    assert "aerial" in shot_tags({}, {**VIDEO, "vendor": {"make": "DJI", "model": "FC3582"}})
    assert "aerial" in shot_tags({}, {**VIDEO, "vendor": {"relative_altitude_m": 80.0}})
    assert "aerial" not in shot_tags(
        {}, {**VIDEO, "camera_make": "DJI", "camera_model": "Osmo Pocket 3"}
    )


def test_gps_altitude_makes_aerial_only_by_setting_and_only_without_a_relative_one():
    high = {**VIDEO, "gps": {"lat": 46.2, "lon": 6.1, "alt": 2500.0}}
    assert not is_aerial(high)  # above sea level is not above the ground: off by default
    assert is_aerial(high, gps_altitude_m=2000)
    assert not is_aerial({**high, "gps": {**high["gps"], "alt": 400.0}}, gps_altitude_m=2000)
    landed = {**high, "vendor": {"relative_altitude_m": 1.5}}  # the better measure decides
    assert not is_aerial(landed, gps_altitude_m=2000)
    assert "aerial" in shot_tags({}, high, gps_altitude_m=2000)
    assert "aerial" not in shot_tags({}, {**high, "kind": "image"}, gps_altitude_m=2000)


def test_a_log_profile_is_a_tag():
    assert "log" in shot_tags({}, {**VIDEO, "vendor": {"log_profile": "S-Log3"}})
    assert "log" not in shot_tags({}, {**VIDEO, "vendor": {"log_profile": None}})


def test_tags_resting_only_on_client_sent_sidecar_facts_are_named():
    sent = {"relative_altitude_m": 80.0, "log_profile": "S-Log3"}
    info = {**VIDEO, "vendor": {**sent, "client_facts": sorted(sent)}}
    assert {"aerial", "log"} <= set(shot_tags({}, info))  # still priced and searchable
    assert client_tags(info) == ["aerial", "log"]
    # The video says so itself (a DJI drone's make, a log profile in its own tags): not theirs.
    drone = {**VIDEO, "vendor": {"make": "DJI", "model": "FC3582", **info["vendor"]}}
    assert client_tags(drone) == ["log"]
    own_log = {**VIDEO, "vendor": {**sent, "client_facts": ["relative_altitude_m"]}}
    assert client_tags(own_log) == ["aerial"]
    assert client_tags({**VIDEO, "vendor": {"relative_altitude_m": 80.0}}) == []
    # Without the sent altitude, the GPS altitude rule decides on the file's own evidence.
    high = {**info, "gps": {"lat": 46.2, "lon": 6.1, "alt": 2500.0}}
    assert client_tags(high, gps_altitude_m=2000) == ["log"]


def test_night_is_dark_but_not_black():
    def quality(mean: float, black: float) -> dict:
        return {"quality": {"low_light": {"value": mean}, "black": {"value": black}}}

    assert "night" in shot_tags(quality(35, 0.0), VIDEO)
    assert "night" not in shot_tags(quality(35, 0.95), VIDEO)
    assert "night" not in shot_tags(quality(120, 0.0), VIDEO)


def test_people_speech_and_camera_tags_combine():
    shot = {
        "tags": ["identifiable_people"],
        "people": {"identifiable": 1, "incidental": 0},
        "speech": {"share": 0.8},
        "motion": {"camera": "static"},
    }
    tags = shot_tags(shot, VIDEO)
    assert {"identifiable_people", "speech", "interview", "static_camera"} <= set(tags)
    assert "silent_broll" not in tags


def test_silent_broll_has_no_sound_or_silence_and_no_speech():
    assert "silent_broll" in shot_tags({}, {**VIDEO, "has_audio": False})
    assert "silent_broll" in shot_tags({"audio": {"silent": True}}, VIDEO)
    assert "silent_broll" not in shot_tags({"audio": {"silent": False}}, VIDEO)
