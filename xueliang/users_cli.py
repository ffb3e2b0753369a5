"""`xueliang users add|list|disable|password`: console users through the hub's admin API.

The hub is `--hub` (or XUELIANG_HUB_URL), the token XUELIANG_TOKEN (the admin API token). A
password is read from the terminal without echo, or from standard input with `--password-stdin`
(for scripts); never from the command line, where other users of the machine could read it."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

import httpx

from xueliang.camera_cli import DEFAULT_HUB, HubCallError

ROLES = ("admin", "integrator", "operator", "responder", "viewer")


def add_parser(commands: Any) -> None:
    users = commands.add_parser("users", help="console users and their roles (admin token)")
    users.add_argument("--hub", default=os.environ.get("XUELIANG_HUB_URL", DEFAULT_HUB))
    actions = users.add_subparsers(dest="users", required=True)
    add = actions.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--grid-scope", help="grid node id the user is limited to (default: all)")
    add.add_argument("--responder-id", help="responder role: the responder record it acts as")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="list users")
    disable = actions.add_parser("disable", help="disable a user (ends their sessions)")
    disable.add_argument("username")
    reset = actions.add_parser("password", help="set a new password (ends their sessions)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (10+ characters): ")
    if getpass.getpass("again: ") != first:
        raise HubCallError("the passwords differ")
    return first


def _call(hub: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    try:
        answer = hub.request(method, path, json=body)
    except httpx.HTTPError as error:
        raise HubCallError(f"cannot reach the hub: {type(error).__name__}") from None
    if answer.status_code >= 300:
        try:
            detail = answer.json().get("detail", answer.reason_phrase)
        except ValueError:
            detail = answer.reason_phrase
        raise HubCallError(f"hub answered {answer.status_code}: {detail}")
    return answer.json()


def _user_id(hub: httpx.Client, username: str) -> str:
    for user in _call(hub, "GET", "/api/users"):
        if user["username"] == username.lower():
            return str(user["id"])
    raise HubCallError(f"no user {username!r}")


def run(args: argparse.Namespace) -> int:
    token = os.environ.get("XUELIANG_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=args.hub, headers=headers, timeout=30) as hub:
        if args.users == "list":
            shown = _call(hub, "GET", "/api/users")
        elif args.users == "add":
            body = {"username": args.username, "role": args.role,
                    "password": _password(args.password_stdin), "grid_scope": args.grid_scope,
                    "responder_id": args.responder_id}  # fmt: skip
            shown = _call(hub, "POST", "/api/users", body)
        elif args.users == "disable":
            shown = _call(hub, "PATCH", f"/api/users/{_user_id(hub, args.username)}",
                          {"enabled": False})  # fmt: skip
        else:
            password = _password(args.password_stdin)
            shown = _call(hub, "PATCH", f"/api/users/{_user_id(hub, args.username)}",
                          {"password": password})  # fmt: skip
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0
