"""Two writers (two hubs on one database, or two consumers in one hub) linking alerts of one place
at the same moment make one incident, not one each: the writer that opens checks again inside its
transaction and, when the other got in first, merges into the other's incident instead."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from hub.alert_linking import taken_elsewhere
from hub.contracts import Alert, AlertKind, GeoPoint
from hub.incident_linking import incident_id_for
from hub.incident_store import IncidentWrite
from hub.lifecycle import Incident
from hub.merge_candidates import CandidateQuery, OpenGuard
from hub.merging import MergeCandidate, MergeRule
from tests.hub.incident_world import EAST_CELL, NEAR_SQUARE, SQUARE, T0, World, alert, stored

RULE = MergeRule(window_s=600, radius_m=150)


async def test_a_hub_that_opens_where_another_just_opened_merges_into_its_incident(
    world: World,
) -> None:
    other = world.new_engine(world.alerts)  # another hub on the same database
    store = world.engine.store
    read_candidates = store.merge_candidates
    theirs: list[Incident] = []

    async def the_other_hub_links_in_between(query: CandidateQuery) -> list[MergeCandidate]:
        found = await read_candidates(query)  # this hub plans on what it read here ...
        if not theirs:  # ... and the other hub opens one at the same place before it writes
            theirs.append(await other.on_alert(alert("cam-2", where=NEAR_SQUARE)))
        return found

    store.merge_candidates = the_other_hub_links_in_between  # type: ignore[method-assign]
    mine = await world.engine.on_alerts([alert("cam-1"), alert("cam-3", where=EAST_CELL)])
    square = theirs[0].id
    assert square == incident_id_for(alert("cam-2").id)
    assert mine[alert("cam-1").id].id == square  # not one of its own beside theirs
    assert mine[alert("cam-3").id].id != square  # the other cell still opens its own
    assert len(await store.search(open_only=True)) == 2
    merged = await stored(world, square)
    assert merged.alerts.keys() == {alert("cam-1").id, alert("cam-2").id}
    assert [why for _, _, why in await world.trail(square)] == ["queued_for_review", "alert_merged"]
    assert await store.get(incident_id_for(alert("cam-1").id)) is None  # nothing half-written


async def test_hubs_linking_one_place_at_once_open_one_incident(world: World) -> None:
    hubs = [world.new_engine(world.alerts) for _ in range(6)]
    reports = [alert(f"cam-{n}", where=SQUARE if n % 2 else NEAR_SQUARE) for n in range(6)]
    linked = await asyncio.gather(*(hub.on_alert(a) for hub, a in zip(hubs, reports, strict=True)))
    assert len({incident.id for incident in linked}) == 1
    [only] = await world.engine.store.search(open_only=True)
    assert only.alerts.keys() == {a.id for a in reports}
    for report in reports:
        assert await world.engine.store.incident_of_alert(report.id) == only.id


async def test_a_batch_that_opens_with_no_other_writer_is_written_once(world: World) -> None:
    store = world.engine.store
    real_save_many = store.save_many
    saves: list[int] = []

    async def counted(writes: Sequence[IncidentWrite], guard: OpenGuard | None = None) -> None:
        saves.append(1)
        await real_save_many(writes, guard)

    store.save_many = counted  # type: ignore[method-assign]
    await world.engine.on_alerts([alert("cam-1"), alert("cam-2", where=NEAR_SQUARE)])
    await world.engine.on_alerts([alert("cam-3", where=NEAR_SQUARE)])  # merges: no guard
    assert saves == [1, 1]  # the guard found nothing to send either back
    assert len(await store.search(open_only=True)) == 1


def candidate(
    incident_id: str, *, kind: str = "crowd_gathering", cell: str | None = "g-001",
    where: GeoPoint | None = SQUARE, idle_s: float = 0,
) -> MergeCandidate:  # fmt: skip
    return MergeCandidate(incident_id, kind, cell, where, T0 - timedelta(seconds=idle_s))


FAR = GeoPoint(lat=30.662, lon=104.066)  # about 550 m north of the square


@pytest.mark.parametrize(
    ("others", "cell", "taken_by"),
    [
        ([], "g-001", None),
        ([candidate("inc-a")], "g-001", "inc-a"),  # same cell
        ([candidate("inc-a", cell="g-009", where=NEAR_SQUARE)], "g-001", "inc-a"),  # 50 m away
        ([candidate("inc-a", cell=None, where=NEAR_SQUARE)], None, "inc-a"),  # no cells at all
        ([candidate("inc-a", cell="g-009", where=FAR)], "g-001", None),  # another place
        ([candidate("inc-a", kind="intrusion")], "g-001", None),  # another kind
        ([candidate("inc-a", idle_s=601)], "g-001", None),  # idle past the window
        ([candidate("inc-a", cell="g-009", where=FAR), candidate("inc-b")], "g-001", "inc-b"),
    ],
)
def test_taken_elsewhere_names_an_incident_that_would_have_taken_an_opener(
    others: list[MergeCandidate], cell: str | None, taken_by: str | None
) -> None:
    opener = alert("cam-1")
    assert taken_elsewhere([opener], {opener.id: cell}, others, T0, RULE) == taken_by


def test_taken_elsewhere_checks_every_opener_by_its_own_kind() -> None:
    fault = alert("cam-9", kind=AlertKind.DEVICE_FAULT)
    crowd = alert("cam-1", where=FAR)
    cells: dict[str, str | None] = {fault.id: "g-001", crowd.id: "g-007"}
    others = [candidate("inc-a")]  # a crowd incident at the square
    assert taken_elsewhere([fault, crowd], cells, others, T0, RULE) is None
    openers: list[Alert] = [fault, alert("cam-2", where=NEAR_SQUARE)]
    cells[openers[1].id] = "g-001"
    assert taken_elsewhere(openers, cells, others, T0, RULE) == "inc-a"

