import os
import pickle
import time
from pathlib import Path

import pytest
from PIL import Image

from outtake.media.errors import MediaError
from outtake.media.inspect import inspect_isolated
from outtake.media.probe import probe
from outtake.media.sandbox import run_isolated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BIGBUCKBUNNY = FIXTURES / "video" / "bigbuckbunny.mp4"


@pytest.fixture(autouse=True)
def _targets_importable_in_the_child(monkeypatch):
    paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


@pytest.fixture(scope="module")
def floor_mb() -> int:
    """Address space the child needs just to load the analysis modules."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(Path(__file__).parent))
        return run_isolated("sandbox_targets:address_space_after_imports_mb")


def refusal(target: str, *args, **limits) -> MediaError:
    with pytest.raises(MediaError) as caught:
        run_isolated(target, *args, **limits)
    return caught.value


def test_result_comes_back_from_another_process():
    result = run_isolated("sandbox_targets:echo", "a", 1, [2.5, None], {"k": True})
    assert result["args"] == ["a", 1, [2.5, None], {"k": True}]
    assert result["pid"] != os.getpid()


def test_media_error_keeps_its_code_and_reason():
    error = refusal("sandbox_targets:refuse", "The video appears cut off: half of it", "truncated")
    assert (error.code, error.reason) == ("truncated", "The video appears cut off: half of it")


def test_allocating_past_the_limit_is_out_of_memory():
    error = refusal("sandbox_targets:allocate", 4096, memory_mb=512)
    assert error.code == "out_of_memory"
    assert "512 MB" in error.reason


def test_ffmpeg_failing_to_allocate_is_out_of_memory_not_a_damaged_file(floor_mb, tmp_path):
    # Enough to import and open, too little for decoder threads and frames: FFmpeg's errors
    # (ENOMEM, EAGAIN, even "invalid data") must all read as memory, not as a bad file.
    with pytest.raises(MediaError) as caught:
        inspect_isolated(BIGBUCKBUNNY, tmp_path / "thumb.jpg", memory_mb=floor_mb + 8)
    assert caught.value.code == "out_of_memory"


def test_a_damaged_file_under_a_small_budget_is_still_a_damaged_file(floor_mb, tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n" * 100)
    with pytest.raises(MediaError) as caught:
        inspect_isolated(path, tmp_path / "thumb.jpg", memory_mb=floor_mb + 256)
    assert caught.value.code == "not_decodable"


def test_sleeping_past_the_timeout_is_killed():
    started = time.monotonic()
    error = refusal("sandbox_targets:sleep", 60, timeout_s=1)
    assert time.monotonic() - started < 10
    assert (error.code, error.reason) == ("timeout", "analysis timed out after 1 s")


def test_an_ordinary_exception_names_its_last_line():
    error = refusal("sandbox_targets:fail")
    assert error.code == "not_decodable"
    assert "ValueError: the frobnicator is out of flux" in error.reason


def test_a_crash_does_not_take_the_parent_down():
    error = refusal("sandbox_targets:crash")
    assert error.code == "not_decodable"
    assert "SIGSEGV" in error.reason


def test_a_crash_at_the_memory_limit_is_out_of_memory():
    error = refusal("sandbox_targets:crash_when_memory_runs_out", memory_mb=1024)
    assert error.code == "out_of_memory"


def test_a_missing_target_is_a_failure_not_a_hang():
    error = refusal("sandbox_targets:no_such_function")
    assert error.code == "not_decodable"
    assert "no_such_function" in error.reason


def test_the_child_loads_no_django(tmp_path):
    assert (
        run_isolated(
            "sandbox_targets:django_modules_after_inspect",
            str(BIGBUCKBUNNY),
            str(tmp_path / "t.jpg"),
        )
        == []
    )


def test_inspect_isolated_end_to_end(tmp_path):
    thumb = tmp_path / "thumb.jpg"
    result = inspect_isolated(BIGBUCKBUNNY, thumb)
    vendor = result["probe"].pop("vendor")  # analysis adds the camera's own metadata
    assert result["probe"].pop("client_tags") == []  # and the tags resting on a client's word
    assert result["probe"] == probe(BIGBUCKBUNNY)
    assert vendor["bit_depth"] == result["probe"]["bit_depth"]
    assert result["thumbnail"] == {"width": 480, "height": 270}
    with Image.open(thumb) as image:
        assert (image.format, image.size) == ("JPEG", (480, 270))


def test_huge_png_is_refused_in_the_child_without_decoding(floor_mb, tmp_path):
    path = tmp_path / "wide.png"
    Image.new("1", (50_000, 2_500)).save(path)
    # Decoding would need 125 MB more than this allows (out_of_memory); the header check does not.
    error = refusal(
        "outtake.media.inspect:inspect_file",
        str(path),
        str(tmp_path / "t.jpg"),
        memory_mb=floor_mb + 64,
    )
    assert error.code == "too_large"
    assert "50000×2500" in error.reason
    assert not (tmp_path / "t.jpg").exists()


def test_media_error_pickles_and_validates_its_code():
    error = pickle.loads(pickle.dumps(MediaError("The file is empty", "empty")))
    assert (error.code, error.reason, str(error)) == (
        "empty",
        "The file is empty",
        "The file is empty",
    )
    with pytest.raises(ValueError):
        MediaError("whatever", "bad_code")
