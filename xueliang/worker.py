"""The worker shell: footage or a stream in, alerts out. Thin: the decisions live in `detection`.

source (decode thread, sampler) -> inference thread -> analyzer (zones, rules) -> Alert -> sink
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cameras.pyav import DecodedFrame, FrameInfo
from cameras.source import FrameSource, SourceOptions
from cameras.urls import with_credentials
from detection.alerts import build_alert
from detection.analyzer import CameraAnalyzer, RuleOutcome
from detection.evidence import snapshot_jpeg
from detection.sampling import FrameSampler
from detection.tracking import Tracker, TrackerFactory
from hub.contracts import (
    Alert,
    CameraSpec,
    LineCrossingRuleSpec,
    RuleSpec,
    needs_tracking,
    place_of,
)
from xueliang.evidence_clip import DEFAULT_CLIP_S, ClipWriter, FrameRing
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import BatchedInference

AlertSink = Callable[[Alert], Awaitable[None]]


class CredentialsError(Exception):
    """A camera's sealed password cannot be opened here; the message names no secret."""


def connect_url(camera: CameraSpec, unseal: Callable[[str], str] | None) -> str:
    """The URL to open, with the camera's credentials in it: built at connect time, never kept
    on the spec (whose repr and JSON stay clean)."""
    password = None
    if camera.password_sealed is not None:
        if unseal is None:
            raise CredentialsError(
                f"camera {camera.id} has a sealed password: set XUELIANG_SECRET_KEY"
            )
        password = unseal(camera.password_sealed)
    return with_credentials(camera.url, camera.username, password)


@dataclass
class CameraProgress:
    """What the terminal shows while a camera runs."""

    camera_id: str
    samples: int = 0
    stream_s: float = 0.0
    people_in_frame: int = 0
    alerts: int = 0
    dropped: int = 0
    last_alert: Alert | None = None


@dataclass
class CameraRun:
    camera: CameraSpec
    inference: BatchedInference
    sink: AlertSink
    source_options: SourceOptions
    evidence: EvidenceFolder | None = None
    epoch: datetime | None = None  # wall time of stream time 0; now when None
    on_progress: Callable[[CameraProgress], None] | None = None
    unseal: Callable[[str], str] | None = None  # opens `password_sealed` (the shared key)
    tracker_factory: TrackerFactory | None = None  # ByteTrack when None and a rule needs one
    clip_s: float = DEFAULT_CLIP_S  # evidence clip of the last sampled frames; 0: none
    progress: CameraProgress = field(init=False)
    source: FrameSource | None = field(default=None, init=False)  # while running, for health
    _snapshots: dict[str, str] = field(default_factory=dict, init=False)
    _ring: FrameRing | None = field(default=None, init=False)
    _clips: ClipWriter | None = field(default=None, init=False)
    _counted_in: int = field(default=0, init=False)
    _counted_dropped: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.progress = CameraProgress(self.camera.id)

    async def run(self) -> CameraProgress:
        """Watch until the input ends (never, for a looped source); active alerts end with it."""
        sampling = self.camera.sampling
        tracking = any(needs_tracking(rule) for rule in self.camera.rules)
        burst_interval_s = sampling.burst_interval_s if tracking else None
        sampler = FrameSampler(sampling.interval_s, sampling.keyframes_only, burst_interval_s)
        options = dataclasses.replace(self.source_options, keyframes_only=sampling.keyframes_only)
        if tracking:
            # The decoder samples ahead of the analysis by the queue's depth: keep it at one
            # frame, so a burst starts on the next frame rather than several samples later.
            options = dataclasses.replace(options, queue_size=1)

        def keep(info: FrameInfo) -> bool:
            return sampler.keep(info.pts_s, info.is_keyframe)

        source = FrameSource(connect_url(self.camera, self.unseal), options, keep)
        self.source = source
        epoch = self.epoch or datetime.now(UTC)
        analyzer = CameraAnalyzer(
            self.camera, self.inference.detector.class_map, epoch=epoch,
            tracker_factory=(self.tracker_factory or _bytetrack) if tracking else None,
        )  # fmt: skip
        if self.evidence is not None and self.clip_s > 0:
            self._ring, self._clips = FrameRing(self.clip_s), ClipWriter(self.evidence)
        last: DecodedFrame | None = None
        async for frame in source.frames():
            if self._ring is not None:
                self._ring.push(frame.pts_s, frame.image)  # before its alert: the clip ends on it
            detections = await self.inference.detect(self.camera.id, frame.image)
            if detections is None:
                continue  # dropped by the batcher (too old, or superseded): counted there
            outcomes = analyzer.observe(frame.pts_s, frame.width, frame.height, detections)
            if burst_interval_s is not None and analyzer.wants_burst:
                sampler.arm_burst(frame.pts_s + sampling.burst_hold_s)
            self._note(frame, analyzer.people_in_frame, source)
            for outcome in outcomes:
                await self._emit(outcome, frame, epoch)
            last = frame
        if self._clips is not None:
            await self._clips.drain()  # so that the last reports carry their clips
        if last is not None:
            for outcome in analyzer.finish(max(source.end_pts_s, last.pts_s)):
                await self._emit(outcome, last, epoch)
        return self.progress

    def _note(self, frame: DecodedFrame, people: int, source: FrameSource) -> None:
        progress = self.progress
        progress.samples += 1
        progress.stream_s = frame.pts_s
        progress.people_in_frame = people
        progress.dropped = source.dropped
        metrics = self.inference.metrics
        if metrics is not None:
            camera = self.camera.id
            metrics.frames_sampled.labels(camera).inc()
            metrics.frames_in.labels(camera).inc(source.packets_in - self._counted_in)
            metrics.frames_dropped.labels(camera, "queue_full").inc(
                source.dropped - self._counted_dropped
            )
            self._counted_in, self._counted_dropped = source.packets_in, source.dropped
        if self.on_progress is not None:
            self.on_progress(progress)

    async def _emit(
        self, outcome: RuleOutcome, frame: DecodedFrame, epoch: datetime
    ) -> None:
        event = outcome.event
        key = f"{outcome.rule.id}@{event.started_s}#{event.track_id}"
        snapshot_ref = self._snapshots.get(key)
        if event.type != "ended" and self.evidence is not None:  # a crossing gets one too
            snapshot_ref = await self._write_snapshot(outcome, frame, epoch)
            self._snapshots[key] = snapshot_ref
        clip_ref = self._clip_ref(outcome, key, epoch)
        if event.type in ("ended", "crossed"):
            self._snapshots.pop(key, None)
        alert = build_alert(
            self.camera,
            outcome,
            epoch=epoch,
            frame_size=(frame.width, frame.height),
            class_map=self.inference.detector.class_map,
            model_name=self.inference.detector.name,
            snapshot_ref=snapshot_ref,
        ).model_copy(update={"clip_ref": clip_ref})
        self.progress.alerts += 1
        if self.inference.metrics is not None:
            labels = (self.camera.id, alert.kind.value, alert.status.value)
            self.inference.metrics.alerts.labels(*labels).inc()
        self.progress.last_alert = alert
        await self.sink(alert)

    def _clip_ref(self, outcome: RuleOutcome, key: str, epoch: datetime) -> str | None:
        """The first report starts the clip (written in a thread, detection goes on); a later
        report carries its name once it is on disk. A crossing has no later report: no clip."""
        if self._clips is None or self._ring is None:
            return None
        if outcome.event.type == "started":
            name = f"{self._evidence_stem(outcome, epoch)}-clip.mp4"
            self._clips.start(key, name, self._ring.frames())
        clip_ref = self._clips.ref(key)
        if outcome.event.type in ("ended", "crossed"):
            self._clips.forget(key)
        return clip_ref

    def _evidence_stem(self, outcome: RuleOutcome, epoch: datetime) -> str:
        event = outcome.event
        started_at = epoch + timedelta(seconds=event.started_s)
        stamp = f"{started_at:%Y%m%dT%H%M%S%f}"
        track = "" if event.track_id is None else f"-t{event.track_id}"
        return f"{self.camera.id}-{outcome.rule.id}-{stamp}{track}"

    async def _write_snapshot(
        self, outcome: RuleOutcome, frame: DecodedFrame, epoch: datetime
    ) -> str:
        assert self.evidence is not None
        event = outcome.event
        name = f"{self._evidence_stem(outcome, epoch)}-r{event.revision}.jpg"
        outline, closed = _outline(self.camera, outcome.rule)
        caption = _caption(self.camera.id, outcome)
        evidence = self.evidence

        def encode_and_write() -> None:
            jpeg = snapshot_jpeg(frame.image, outline, outcome.objects, caption, closed=closed)
            evidence.write(name, jpeg)

        await asyncio.to_thread(encode_and_write)
        return name



def _bytetrack(interval_s: float, keep_lost_s: float) -> Tracker:
    from detection.backends.bytetrack import ByteTrackTracker  # ultralytics: only when needed

    return ByteTrackTracker(interval_s, keep_lost_s)


def _outline(camera: CameraSpec, rule: RuleSpec) -> tuple[list[tuple[float, float]], bool]:
    """The zone's polygon (closed) or the line's ends, for the snapshot."""
    if isinstance(rule, LineCrossingRuleSpec):
        line = camera.line(rule.line_id)
        return [line.a, line.b], False
    return list(camera.zone(rule.zone_id).polygon), True


def _caption(camera_id: str, outcome: RuleOutcome) -> str:
    event, rule = outcome.event, outcome.rule
    place = place_of(rule)
    if event.direction is not None:
        return f"{camera_id} {place}: crossed {event.direction} ({event.level})"
    if event.track_id is not None:
        return f"{camera_id} {place}: {rule.kind} #{event.track_id} ({event.level})"
    return f"{camera_id} {place}: {event.count} people ({event.level})"
