"""A real RTSP server for tests: GStreamer's, from Debian, serving a recorded clip.

Run with the system Python that has PyGObject (`/usr/bin/python3 tests/rtsp_serve.py ...`), not
the project's venv. Prints READY once it listens. Every client gets the clip from its start.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clip", required=True, help="an MP4 or MPEG-TS file with H.264 video")
    parser.add_argument("--mount", default="/cam")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    # MPEG-TS clips may change resolution mid-stream: h264parse then repeats SPS/PPS in band.
    demux = "tsdemux" if args.clip.endswith(".ts") else "qtdemux"
    factory.set_launch(
        f'( filesrc location="{args.clip}" ! {demux} ! h264parse config-interval=-1'
        " ! rtph264pay name=pay0 pt=96 )"
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("READY", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
