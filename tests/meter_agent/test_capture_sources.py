"""Frame sources against real files, a real OpenCV capture and a real HTTP snapshot server."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_support import LoopbackServer, digits_image, free_port
from fastapi import FastAPI
from fastapi.responses import Response

from meter_agent.capture import (
    CameraSource,
    CaptureError,
    FileSource,
    SyntheticSource,
    UrlSource,
    apply_flips,
    open_source,
)
from meter_agent.config import CameraConfig


def _write(path: Path, img: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), img)
    return path


def test_folder_replays_images_in_name_order_and_loops(tmp_path: Path) -> None:
    # written out of order, with a non-image among them
    for name, text in [("b.png", "222"), ("a.png", "111"), ("c.jpg", "333")]:
        _write(tmp_path / name, digits_image(text))
    (tmp_path / "notes.txt").write_text("not an image")
    src = FileSource(tmp_path)
    means = [src.grab().mean() for _ in range(4)]
    first = cv2.imread(str(tmp_path / "a.png")).mean()
    assert means[0] == pytest.approx(first)
    assert means[3] == pytest.approx(first)  # looped back to a.png
    assert len({round(m, 3) for m in means[:3]}) == 3
    assert src.status.ok is True
    assert src.status.frame_size == (320, 120)


def test_single_file_and_grey_png_come_back_as_bgr(tmp_path: Path) -> None:
    grey = cv2.cvtColor(digits_image("42"), cv2.COLOR_BGR2GRAY)
    path = _write(tmp_path / "grey.png", grey)
    frame = FileSource(path).grab()
    assert frame.shape == (120, 320, 3) and frame.dtype == np.uint8


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty_dir", "holds no images"),
        ("corrupt", "is not a readable image"),
    ],
)
def test_file_source_errors_are_one_sentence(tmp_path: Path, setup: str, message: str) -> None:
    if setup == "missing":
        path = tmp_path / "nope"
    elif setup == "empty_dir":
        path = tmp_path / "frames"
        path.mkdir()
    else:
        path = tmp_path / "broken.jpg"
        path.write_bytes(b"\xff\xd8 this is not really a jpeg")
    src = FileSource(path)
    with pytest.raises(CaptureError, match=message) as info:
        src.grab()
    text = str(info.value)
    assert text.endswith(".") and "\n" not in text
    assert src.status.ok is False and src.status.last_error == text


def test_camera_source_reads_an_opencv_capture_and_applies_flips(tmp_path: Path) -> None:
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (160, 120))
    assert writer.isOpened()
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :80] = 255  # left half white
    for _ in range(3):
        writer.write(frame)
    writer.release()

    cam = CameraSource(CameraConfig(source="camera", device=str(video), flip_horizontal=True))
    got = cam.grab()
    assert got.shape == (120, 160, 3)
    assert got[:, 100:].mean() > 200 and got[:, :60].mean() < 50  # mirrored: white on the right
    cam.grab()
    cam.grab()
    # the "camera" ran dry: an error naming the device, and it is reopened on the next grab
    with pytest.raises(CaptureError, match="returned no frame"):
        cam.grab()
    assert cam.grab().shape == (120, 160, 3)
    cam.close()


def test_missing_camera_device_says_what_to_check(tmp_path: Path) -> None:
    cam = CameraSource(CameraConfig(source="camera", device=str(tmp_path / "video99")))
    with pytest.raises(CaptureError, match=r"cannot be opened; check camera.device"):
        cam.grab()
    assert cam.status.to_json()["ok"] is False


def test_flips() -> None:
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    both = apply_flips(img, CameraConfig(flip_horizontal=True, flip_vertical=True))
    assert (both == img[::-1, ::-1]).all()
    assert (apply_flips(img, CameraConfig(flip_vertical=True)) == img[::-1]).all()
    assert apply_flips(img, CameraConfig()) is img


def _snapshot_app(jpeg: bytes) -> FastAPI:
    app = FastAPI()
    app.state.mode = "ok"

    @app.get("/capture")
    def capture() -> Response:
        if app.state.mode == "error":
            return Response("camera busy", status_code=500)
        if app.state.mode == "html":
            return Response("<html>login</html>", media_type="text/html")
        return Response(jpeg, media_type="image/jpeg")

    return app


def test_url_source_fetches_jpeg_snapshots_from_a_real_server() -> None:
    img = digits_image("031415", size=(400, 100))
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    app = _snapshot_app(buf.tobytes())
    with LoopbackServer(app) as srv:
        src = UrlSource(CameraConfig(source="url", url=f"{srv.url}/capture", flip_vertical=True))
        frame = src.grab()
        assert frame.shape == (100, 400, 3)
        # flipped: the digits' dark ink sits in the upper part now
        assert abs(frame.astype(float).mean() - img.astype(float).mean()) < 3
        assert np.abs(frame.astype(int) - img[::-1].astype(int)).mean() < 6
        app.state.mode = "error"
        with pytest.raises(CaptureError, match="answered HTTP 500"):
            src.grab()
        app.state.mode = "html"
        with pytest.raises(CaptureError, match="is not a readable image"):
            src.grab()
        src.close()


def test_url_source_down_and_bad_url() -> None:
    down = UrlSource(CameraConfig(source="url", url=f"http://127.0.0.1:{free_port()}/capture"))
    with pytest.raises(CaptureError, match="cannot be reached"):
        down.grab()
    with pytest.raises(CaptureError, match="must be an http"):
        UrlSource(CameraConfig(source="url", url="ftp://cam/x.jpg")).grab()


def test_open_source_picks_by_config(tmp_path: Path) -> None:
    assert isinstance(open_source(CameraConfig(source="file", path=str(tmp_path))), FileSource)
    assert isinstance(open_source(CameraConfig(source="url", url="http://127.0.0.1/")), UrlSource)
    assert isinstance(open_source(CameraConfig(source="camera")), CameraSource)
    assert isinstance(open_source(CameraConfig(source="synthetic")), SyntheticSource)


def test_synthetic_source_draws_the_meter_it_is_told_to_show() -> None:
    cam = CameraConfig(source="synthetic", width=640, height=360)
    src = SyntheticSource(cam, start=4321, creep=False)
    hint = src.calibration_hint()
    assert len(hint["roi"]) == 4 and -10 < hint["rotate_degrees"] < 10
    frame = src.grab()
    assert frame.shape == (360, 640, 3)
    assert src.last_truth["digits"] == "004321" and src.last_truth["roi"] == hint["roi"]
    src.advance(9)
    src.grab()
    assert src.last_truth["digits"] == "004330"
    # the same meter every time: one calibration fits all its frames
    assert SyntheticSource(cam, start=1, creep=False).calibration_hint() == hint


@pytest.mark.parametrize("given", [".", "frames"])
def test_a_relative_camera_path_is_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """As for storage paths: "." or "frames" beside the config file, whatever folder the
    agent was started in ("." was refused as empty, and both were taken from the cwd)."""
    from service_support import write_config

    from meter_agent.config import load_agent_config
    from meter_agent.service import MeterService

    where = tmp_path / "agent"
    (where / "frames").mkdir(parents=True)
    frames = where if given == "." else where / "frames"
    cv2.imwrite(str(frames / "meter.png"), digits_image("314159"))
    cfg_path = write_config(where, camera={"source": "file", "path": given})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    service = MeterService(load_agent_config(cfg_path), cfg_path)
    try:
        assert service.source.grab().shape[:2] == digits_image("314159").shape[:2]
        assert load_agent_config(cfg_path).camera.path == given  # the file keeps what was typed
    finally:
        service.close()
    with pytest.raises(CaptureError, match="camera.path is empty"):
        FileSource("").grab()
