"""Who may do what, and where: roles, their permissions and grid scopes. Pure (no I/O).

| role       | read | act | respond | cameras | camera health | fleet | users, metrics |
|------------|:----:|:---:|:-------:|:-------:|:-------------:|:-----:|:--------------:|
| admin      |  ✓   |  ✓  |    –    |    ✓    |       ✓       |   ✓   |       ✓        |
| operator   |  ✓   |  ✓  |    –    |    –    |       ✓       |   –   |       –        |
| viewer     |  ✓   |  –  |    –    |    –    |       ✓       |   –   |       –        |
| integrator |  –   |  –  |    –    |    ✓    |       ✓       |   –   |       –        |
| responder  |  –   |  –  |    ✓    |    –    |       –       |   –   |       –        |
| worker     |  –   |  –  |    –    |    –    |       –       |   ✓   |       –        |

"Read" is alerts and their snapshots, incidents and their audit trail, the daily report and
the live socket. "Act" is claim, verify, mark false, colours, warnings, recommend, dispatch,
checks, notes, close and reopen, plus registering responders and setting their availability.
The worker role is a token's only, never a user's. A responder
(a user with that role, or a responder's own token) sees and acts on only the incidents it is
assigned to. A user's grid scope (a grid node id) limits what it reads and acts on to objects
whose grid cell is that node or below it; a foreign object answers 404, as if it did not exist.
Of the responders, it sees, ranks, dispatches and maps those serving its scope or a node above
it, and registers new ones only at or below it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from hub.contracts import Alert
from hub.grid import Grid, ancestors

Cells = frozenset[str] | None  # the grid cells a caller may see; None: everywhere


class Role(StrEnum):
    ADMIN = "admin"  # everything, users included; the API token is admin
    INTEGRATOR = "integrator"  # registers and maintains cameras
    OPERATOR = "operator"  # works incidents: claim, verify, dispatch, notes, close
    RESPONDER = "responder"  # acts only on its own assignments
    VIEWER = "viewer"  # reads alerts and incidents
    WORKER = "worker"  # the worker token: reads the fleet it runs (never a user)


USER_ROLES = (Role.ADMIN, Role.INTEGRATOR, Role.OPERATOR, Role.RESPONDER, Role.VIEWER)


class Perm(StrEnum):
    READ = "read"  # alerts, snapshots, incidents, audit, daily report, live socket
    ACT = "act"  # incident events, recommendations, responders
    RESPOND = "respond"  # own assignments, position and availability
    CAMERAS = "cameras"  # camera registration, probe, PTZ, snapshots
    CAMERA_HEALTH = "camera_health"
    FLEET = "fleet"  # the fleet with sealed passwords
    USERS = "users"  # create, list, disable users, reset passwords
    METRICS = "metrics"


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm) - {Perm.RESPOND},  # admin has no responder page
    Role.OPERATOR: frozenset({Perm.READ, Perm.ACT, Perm.CAMERA_HEALTH}),
    Role.VIEWER: frozenset({Perm.READ, Perm.CAMERA_HEALTH}),
    Role.INTEGRATOR: frozenset({Perm.CAMERAS, Perm.CAMERA_HEALTH}),
    Role.RESPONDER: frozenset({Perm.RESPOND}),
    Role.WORKER: frozenset({Perm.FLEET}),
}


@dataclass(frozen=True)
class Principal:
    """The caller of one request or socket.

    `name`: the username, or the token's role name for a token. `session`: the hash of the
    session id it came with (sign-out and disabling end the socket of that session)."""

    role: Role
    name: str
    user_id: str | None = None
    scope: str | None = None  # a grid node id; None: the whole grid
    responder_id: str | None = None
    session: str | None = None

    def may(self, perm: Perm) -> bool:
        return perm in ROLE_PERMS[self.role]

    @property
    def is_user(self) -> bool:
        return self.user_id is not None


def scope_cells(scope: str | None, grid: Grid | None) -> Cells:
    """The grid node ids at or below `scope` (just `scope` when the hub has no grid or the node
    is not in it, so a stale scope shows nothing rather than everything)."""
    if scope is None:
        return None
    node = None if grid is None else grid.nodes.get(scope)
    if node is None or grid is None:
        return frozenset({scope})
    return frozenset(child.id for child in grid.subtree(node))


def place_cell(grid: Grid | None, reported: str | None, lat: float, lon: float) -> str | None:
    """The hub's grid cell of something placed (an alert, a camera), decided as alert linking
    decides an incident's (hub/incident_linking.py): the reported cell when the grid knows it,
    else the cell at the position, else the reported one. So a scoped user sees an incident's
    alerts and cameras with it."""
    if grid is None or reported in grid.nodes:
        return reported
    node = grid.cell_at(lat, lon)
    return reported if node is None else node.id


def alert_cell(grid: Grid | None, alert: Alert) -> str | None:
    return place_cell(grid, alert.grid_cell, alert.location.lat, alert.location.lon)


def in_scope(cells: Cells, grid_cell: str | None) -> bool:
    """An object without a grid cell is visible only to unscoped callers."""
    return cells is None or (grid_cell is not None and grid_cell in cells)


def narrowed(cells: Cells, wanted: Collection[str] | None) -> list[str] | None:
    """The cells a list query may return: the caller's scope and the query's filter together."""
    if cells is None:
        return None if wanted is None else list(wanted)
    if wanted is None:
        return sorted(cells)
    return sorted(cells & set(wanted))


def serves_scope(grid: Grid | None, scope: str | None, grid_ids: Collection[str]) -> bool:
    """A responder serving `grid_ids` is one a caller scoped to `scope` sees and manages: one
    of the scope's cells, or a node above it (a street team is dispatched into its
    communities). Unscoped callers see everyone; a responder of no node only them."""
    if scope is None:
        return True
    cells = scope_cells(scope, grid) or frozenset()
    node = None if grid is None else grid.nodes.get(scope)
    above = frozenset() if node is None else frozenset(n.id for n in ancestors(node))
    return bool(set(grid_ids) & (cells | above))


def within_scope(grid: Grid | None, scope: str | None, grid_ids: Collection[str]) -> bool:
    """A responder serving `grid_ids` is one a caller scoped to `scope` may register: it serves
    at least one node, and every node it serves is at or below the scope (placing people in
    other cells, or above the scope, is for a caller scoped there)."""
    if scope is None:
        return True
    cells = scope_cells(scope, grid) or frozenset()
    return bool(grid_ids) and set(grid_ids) <= cells
