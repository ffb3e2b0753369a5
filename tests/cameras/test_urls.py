from __future__ import annotations

import pytest

from cameras.urls import redact_url


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("rtsp://admin:p%40ss:w0rd@10.0.0.5:554/s1", "rtsp://***@10.0.0.5:554/s1"),
        ("rtsp://admin@cam/s1", "rtsp://***@cam/s1"),
        ("rtsp://cam.local/live?user=a", "rtsp://cam.local/live?user=a"),
        ("videos/a@b.mp4", "videos/a@b.mp4"),
        ("HTTP://u:p@h/x", "HTTP://***@h/x"),
    ],
)
def test_credentials_never_survive_redaction(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_urls_inside_a_sentence_are_redacted_too() -> None:
    text = "cannot open rtsp://admin:s3cret@10.0.0.5/x (then http://u:p@h/y): refused"
    assert redact_url(text) == "cannot open rtsp://***@10.0.0.5/x (then http://***@h/y): refused"
