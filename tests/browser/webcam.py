"""Webcam shots in a real browser with Chromium's fake camera (``--use-fake-device-for-media-stream``,
cnnkit/devtools/browser.py)."""

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

VIDEO_PLAYING = """() => {
    const video = document.querySelector("[data-testid='stCameraInput'] video");
    return video !== null && video.readyState >= 2 && video.videoWidth > 0;
}"""


def take_shot(page, after_ms: int) -> None:
    """Wait for the camera's first frame, then press its button ``after_ms`` later (the widget comes back empty
    for the next shot, its fake stream started afresh: shots at the same moment of it are the same picture,
    which the collection keeps once)."""
    button = page.get_by_test_id("stCameraInputButton")
    expect(button).to_be_enabled(timeout=30_000)
    page.wait_for_function(VIDEO_PLAYING, timeout=30_000)
    page.wait_for_timeout(after_ms)
    button.click()
    wait_for_app(page)


def shoot_until(page, counted) -> None:
    """Webcam shots until ``counted`` (the class's count line) shows: a shot at a moment of the fake stream
    already taken adds nothing, and on a loaded machine a press may still come before the stream gives a
    picture."""
    for after_ms in (500, 2500, 4000, 6000, 8000):
        take_shot(page, after_ms)
        try:
            counted.wait_for(timeout=15_000)
            return
        except PlaywrightTimeoutError:
            continue
    expect(counted).to_be_visible()
