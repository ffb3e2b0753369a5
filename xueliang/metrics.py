"""Worker metrics (Prometheus): per camera and per detector. One registry per worker, not the
global one, so tests and the embedded demo can hold several side by side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.frames_in = Counter(
            "xl_camera_frames_in", "Video packets read from the camera", ["camera"], registry=r
        )
        self.frames_sampled = Counter(
            "xl_camera_frames_sampled", "Frames the sampler kept", ["camera"], registry=r
        )
        self.frames_dropped = Counter(
            "xl_frames_dropped",
            "Sampled frames dropped before inference, by cause",
            ["camera", "cause"],
            registry=r,
        )
        self.alerts = Counter(
            "xl_alerts", "Alert reports emitted", ["camera", "kind", "status"], registry=r
        )
        self.batch_size = Histogram(
            "xl_detector_batch_size", "Frames per inference call", ["detector"],
            buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.inference_seconds = Histogram(
            "xl_detector_inference_seconds", "Wall time of one inference call", ["detector"],
            buckets=SECONDS_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_age_seconds = Histogram(
            "xl_batcher_queue_age_seconds", "How long a frame waited for its batch", ["detector"],
            buckets=SECONDS_BUCKETS, registry=r,
        )  # fmt: skip
