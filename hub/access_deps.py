"""FastAPI dependencies for the incident, responder and map routes: who the caller is, as a
`Principal` (hub/access.py) and as the `Actor` the audit trail names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from hub.access import Cells, Perm, Principal, scope_cells
from hub.access import Role as HubRole
from hub.auth import principal_of
from hub.lifecycle import Actor, Role


def _unauthorised() -> HTTPException:
    return HTTPException(401, "not signed in, or a wrong token",
                         headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


async def current_caller(request: Request) -> Principal:
    """Anyone who may read incidents or act on their own assignments (else 401 or 403)."""
    who = await principal_of(request)
    if who is None:
        raise _unauthorised()
    if not (who.may(Perm.READ) or who.may(Perm.RESPOND)):
        raise HTTPException(403, f"the {who.role} role has no access to incidents")
    return who


def actor_of(who: Principal) -> Actor:
    """How the caller appears in the audit trail: a responder as itself, anyone else (the admin
    token, a user) as an operator by name."""
    if who.role is HubRole.RESPONDER and who.responder_id is not None:
        return Actor(id=who.responder_id, role=Role.RESPONDER)
    return Actor(id=who.name, role=Role.OPERATOR)


async def current_actor(request: Request) -> Actor:
    return actor_of(await current_caller(request))


def visible_cells(request: Request, who: Principal) -> Cells:
    """The grid cells the caller's scope covers (None: all)."""
    return scope_cells(who.scope, request.app.state.grid)


async def current_operator(request: Request) -> Principal:
    """Someone who may act on incidents and manage responders (checked before the body is)."""
    who = await current_caller(request)
    if who.role is HubRole.RESPONDER:
        raise HTTPException(403, "responders may act on their own assignments only")
    if not who.may(Perm.ACT):
        raise HTTPException(403, f"the {who.role} role may not do this")
    return who


async def current_responder(request: Request) -> Actor:
    """A responder, for its own page (a user of the responder role, or a responder token)."""
    who = await current_caller(request)
    if not who.may(Perm.RESPOND):
        raise HTTPException(403, "this is a responder's page: sign in as a responder")
    return actor_of(who)


Caller = Annotated[Principal, Depends(current_caller)]
Operator = Annotated[Principal, Depends(current_operator)]
Who = Annotated[Actor, Depends(current_actor)]  # the audit identity (also hub/map_routes.py)
Me = Annotated[Actor, Depends(current_responder)]
