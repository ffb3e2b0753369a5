"""A real RTSP server for tests: GStreamer's, from Debian, serving a recorded clip.

Run with the system Python that has PyGObject (`/usr/bin/python3 tests/rtsp_serve.py ...`), not
the project's venv. Prints READY once it listens. Every client gets the clip from its start.
With `--user NAME --password-file PATH` the mount asks for credentials (RTSPAuth, digest by
default); the password comes from a file so that it never shows in a process list.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

ROLE = "viewer"
METHODS = {"basic": GstRtsp.RTSPAuthMethod.BASIC, "digest": GstRtsp.RTSPAuthMethod.DIGEST}


def protect(
    server: GstRtspServer.RTSPServer,
    factory: GstRtspServer.RTSPMediaFactory,
    user: str,
    password: str,
    method: str,
) -> None:
    """Only `user` with `password` may see the mount; anyone else gets 401."""
    token = GstRtspServer.RTSPToken.new()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth = GstRtspServer.RTSPAuth.new()
    auth.set_supported_methods(METHODS[method])
    if method == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    else:
        auth.add_digest(user, password, token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions.new()
    for permission in (
        GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
        GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
    ):
        permissions.add_permission_for_role(ROLE, permission, True)
    factory.set_permissions(permissions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clip", required=True, help="an MP4 or MPEG-TS file with H.264 video")
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--user", help="ask for this user name (with --password-file)")
    parser.add_argument("--password-file", help="a file holding the password (UTF-8)")
    parser.add_argument("--auth-method", choices=sorted(METHODS), default="digest")
    args = parser.parse_args()
    if (args.user is None) != (args.password_file is None):
        parser.error("--user and --password-file go together")
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
    if args.user is not None:
        with open(args.password_file, encoding="utf-8") as file:
            password = file.read()
        protect(server, factory, args.user, password, args.auth_method)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("READY", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
