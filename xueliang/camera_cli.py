"""`xueliang cameras ...`: register and maintain cameras through the hub's API.

The hub is `--hub` (or XUELIANG_HUB_URL), the token XUELIANG_TOKEN (integrator or admin). A
password is read from standard input (`--password-stdin`) or asked for (`--ask-password`),
never taken from the command line, where `ps` and shell history would keep it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

DEFAULT_HUB = "http://127.0.0.1:8000"


class HubCallError(Exception):
    """The hub refused or could not be reached; the message is the hub's reason."""


def add_parser(commands: Any) -> None:
    cameras = commands.add_parser("cameras", help="register and maintain cameras (integrators)")
    cameras.add_argument("--hub", default=os.environ.get("XUELIANG_HUB_URL", DEFAULT_HUB))
    actions = cameras.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="registered cameras")
    for name in ("show", "remove", "enable", "disable"):
        actions.add_parser(name, help=f"{name} one camera").add_argument("camera_id")
    snapshot = actions.add_parser("snapshot", help="save a JPEG from the camera")
    snapshot.add_argument("camera_id")
    snapshot.add_argument("--out", type=Path, required=True)
    discover = actions.add_parser("discover", help="find ONVIF devices (WS-Discovery, hub's LAN)")
    discover.add_argument("--timeout", type=float, default=3.0, help="seconds to listen")
    ptz = actions.add_parser("ptz", help="send a PTZ camera to one of its presets")
    ptz.add_argument("camera_id")
    ptz.add_argument("--preset", required=True, help="preset token (see `show`)")
    probe = actions.add_parser("probe", help="ask an ONVIF device what it offers")
    _source_arguments(probe, onvif_only=True)
    add = actions.add_parser("add", help="register a camera (RTSP URL or ONVIF device)")
    _source_arguments(add, onvif_only=False)
    _placement_arguments(add, required=True)
    update = actions.add_parser("update", help="change fields of a camera")
    update.add_argument("camera_id")
    update.add_argument("--rtsp", help="new stream URL (rtsp:// or rtsps://, no credentials)")
    update.add_argument("--username")
    _password_arguments(update)
    update.add_argument("--clear-password", action="store_true")
    _placement_arguments(update, required=False)


def _source_arguments(parser: argparse.ArgumentParser, onvif_only: bool) -> None:
    if onvif_only:
        parser.add_argument("--onvif", required=True, metavar="HOST[:PORT]")
    else:
        parser.add_argument("--id", help="camera id (default: made up)")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--rtsp", help="stream URL (rtsp:// or rtsps://, no credentials)")
        source.add_argument("--onvif", metavar="HOST[:PORT]", help="probe this ONVIF device")
        parser.add_argument("--profile", help="ONVIF media profile token (default: main)")
    parser.add_argument("--https", action="store_true", help="ONVIF over HTTPS")
    parser.add_argument("--username")
    _password_arguments(parser)


def _password_arguments(parser: argparse.ArgumentParser) -> None:
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    given.add_argument("--ask-password", action="store_true", help="prompt for it")


def _placement_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--name")
    parser.add_argument("--lat", type=float, required=required)
    parser.add_argument("--lon", type=float, required=required)
    parser.add_argument("--heading", type=float, help="degrees from north")
    parser.add_argument("--fov", type=float, help="horizontal field of view, degrees")
    parser.add_argument("--grid-cell")
    parser.add_argument("--tag", action="append", help="repeat for several")
    parser.add_argument(
        "--rules", type=Path,
        help="YAML with `zones:`, `lines:`, `rules:`, `sampling:` and `ground_calibration:`",
    )


def run(args: argparse.Namespace) -> int:
    token = os.environ.get("XUELIANG_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=args.hub, headers=headers, timeout=30) as hub:
        return _act(hub, args)


def _act(hub: httpx.Client, args: argparse.Namespace) -> int:
    action = args.action
    if action == "list":
        for camera in _call(hub, "GET", "/api/cameras"):
            state = "enabled" if camera["enabled"] else "disabled"
            print(f"{camera['id']}\t{state}\t{camera['name']}\t{camera['stream_url']}")
    elif action == "show":
        _print(_call(hub, "GET", f"/api/cameras/{args.camera_id}"))
    elif action in ("enable", "disable"):
        body = {"enabled": action == "enable"}
        _print(_call(hub, "PATCH", f"/api/cameras/{args.camera_id}", body))
    elif action == "remove":
        _call(hub, "DELETE", f"/api/cameras/{args.camera_id}")
        print(f"removed {args.camera_id}")
    elif action == "snapshot":
        response = _send(hub, "GET", f"/api/cameras/{args.camera_id}/snapshot.jpg")
        args.out.write_bytes(response.content)
        print(f"saved {len(response.content)} bytes to {args.out}")
    elif action == "discover":
        for device in _call(hub, "POST", "/api/cameras/discover", {"timeout_s": args.timeout}):
            note = "" if device["allowed"] else "\t(outside XUELIANG_CAMERA_NETWORKS)"
            print(f"{device['host']}:{device['port']}\t{device['endpoint_reference']}{note}")
    elif action == "ptz":
        _call(hub, "POST", f"/api/cameras/{args.camera_id}/ptz/goto", {"preset": args.preset})
        print(f"{args.camera_id} sent to preset {args.preset}")
    elif action == "probe":
        body = {"onvif": _onvif(args), **_credentials(args)}
        _print(_call(hub, "POST", "/api/cameras/probe", body))
    elif action == "add":
        _print(_call(hub, "POST", "/api/cameras", _create_body(args)))
    elif action == "update":
        _print(_call(hub, "PATCH", f"/api/cameras/{args.camera_id}", _update_body(args)))
    return 0


def _create_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"id": args.id, **_placement(args), **_credentials(args)}
    if args.rtsp:
        body["rtsp_url"] = args.rtsp
    else:
        body["onvif"] = _onvif(args) | ({"profile": args.profile} if args.profile else {})
    return {key: value for key, value in body.items() if value is not None}


def _update_body(args: argparse.Namespace) -> dict[str, Any]:
    body = _placement(args) | _credentials(args)
    if args.rtsp:
        body["rtsp_url"] = args.rtsp
    if args.clear_password:
        body["password"] = None
    return body


def _placement(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.lat is not None or args.lon is not None:
        body["location"] = {"lat": args.lat, "lon": args.lon}
    optional = {
        "name": args.name, "heading_deg": args.heading, "fov_deg": args.fov,
        "grid_cell": args.grid_cell, "tags": args.tag,
    }  # fmt: skip
    body.update({key: value for key, value in optional.items() if value is not None})
    if args.rules is not None:
        body.update(_rules_file(args.rules))
    return body


RULES_FILE_KEYS = frozenset({"zones", "lines", "rules", "sampling", "ground_calibration"})


def _rules_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise HubCallError(f"cannot read {path}: {error}") from None
    if not isinstance(loaded, dict) or not set(loaded) <= RULES_FILE_KEYS:
        raise HubCallError(
            f"{path}: expected a mapping with {', '.join(sorted(RULES_FILE_KEYS))} only"
        )
    return loaded


def _onvif(args: argparse.Namespace) -> dict[str, Any]:
    """`host`, `host:port`, `[v6]` or `[v6]:port`."""
    text: str = args.onvif
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    endpoint: dict[str, Any] = {"host": host, "scheme": "https" if args.https else "http"}
    if port:
        if not port.isdigit():
            raise HubCallError(f"--onvif {text!r}: the port must be a number")
        endpoint["port"] = int(port)
    return endpoint


def _credentials(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.username:
        body["username"] = args.username
    if args.password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\r\n")
    elif args.ask_password:
        body["password"] = getpass.getpass("camera password: ")
    return body


def _send(hub: httpx.Client, method: str, path: str, body: object = None) -> httpx.Response:
    try:
        response = hub.request(method, path, json=body)
    except httpx.HTTPError as error:
        reason = type(error).__name__
        raise HubCallError(f"cannot reach the hub at {hub.base_url}: {reason}") from None
    if response.status_code >= 400:
        raise HubCallError(f"the hub answered {response.status_code}: {_reason(response)}")
    return response


def _call(hub: httpx.Client, method: str, path: str, body: object = None) -> Any:
    response = _send(hub, method, path, body)
    return None if response.status_code == 204 else response.json()


def _reason(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text[:300]
    if isinstance(detail, list):  # validation errors: where and why
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail[:5]
        )
    return str(detail)


def _print(body: Any) -> None:
    print(json.dumps(body, indent=2, ensure_ascii=False))
