"""The pure part of camera leases: fair share, the plan of one tick, deadlines, the defaults."""

from __future__ import annotations

import pytest

from xueliang.leasing import (
    LeaseSettings,
    Plan,
    expired,
    fair_share,
    lease_deadline,
    plan,
    preference,
)

SIX = [f"cam-{i}" for i in range(1, 7)]


@pytest.mark.parametrize(
    ("cameras", "workers", "share"),
    [(6, 1, 6), (6, 2, 3), (7, 2, 4), (6, 4, 2), (2, 3, 1), (0, 2, 0), (5, 0, 5)],
)
def test_fair_share_is_the_ceiling_so_every_camera_fits(
    cameras: int, workers: int, share: int
) -> None:
    assert fair_share(cameras, workers) == share
    assert share * max(1, workers) >= cameras


def test_preference_is_stable_and_differs_between_workers() -> None:
    assert preference("w1", SIX) == preference("w1", list(reversed(SIX)))
    assert sorted(preference("w1", SIX)) == SIX
    assert preference("w1", SIX) != preference("w2", SIX)


def ranked(worker: str, cameras: list[str]) -> list[str]:
    return preference(worker, cameras)


def test_a_lone_worker_wants_every_free_camera() -> None:
    assert plan("w1", SIX, held=[], owners={}, live_workers=1) == Plan(
        acquire=tuple(ranked("w1", SIX)), want=6
    )


def test_a_worker_renews_its_share_and_tries_free_cameras_up_to_it() -> None:
    held = ranked("w1", SIX)[:2]
    others = {c: "w2" for c in SIX if c not in held}
    others.pop(ranked("w1", SIX)[5])  # one camera free
    got = plan("w1", SIX, held, owners={**others, **{c: "w1" for c in held}}, live_workers=2)
    assert got == Plan(renew=tuple(held), acquire=(ranked("w1", SIX)[5],), want=1)


def test_a_worker_above_its_share_gives_back_its_least_preferred_cameras() -> None:
    order = ranked("w1", SIX)
    got = plan("w1", SIX, held=SIX, owners={c: "w1" for c in SIX}, live_workers=2)
    assert got == Plan(renew=tuple(order[:3]), release=tuple(order[3:]))


def test_cameras_that_left_the_fleet_are_released() -> None:
    got = plan("w1", SIX[:4], held=["cam-5", "cam-1"], owners={"cam-1": "w1"}, live_workers=1)
    assert got.release == ("cam-5",)
    assert got.renew == ("cam-1",)
    assert set(got.acquire) == {"cam-2", "cam-3", "cam-4"} and got.want == 3


def test_a_lease_the_store_names_as_ours_is_renewed_not_acquired() -> None:
    # Stopped at its deadline while the store was away; the store kept the lease: take it back.
    got = plan("w1", SIX[:2], held=[], owners={"cam-1": "w1", "cam-2": "w2"}, live_workers=2)
    assert got == Plan(renew=("cam-1",))


def test_nothing_is_acquired_while_the_store_may_have_lost_leases() -> None:
    got = plan("w1", SIX, held=["cam-1"], owners={}, live_workers=1, may_acquire=False)
    assert got == Plan(renew=("cam-1",))


def test_dead_workers_do_not_count_once_their_heartbeat_is_gone() -> None:
    mine = ranked("w1", SIX)[:2]
    owners = {c: "w1" for c in mine}  # w3's two cameras have expired, w2 holds two
    owners.update({c: "w2" for c in ranked("w1", SIX)[2:4]})
    got = plan("w1", SIX, held=mine, owners=owners, live_workers=2)
    assert got.want == 1 and set(got.acquire) == set(ranked("w1", SIX)[4:])


@pytest.mark.parametrize(
    ("deadlines", "now_s", "gone"),
    [
        ({}, 5.0, []),
        ({"a": 10.0, "b": 12.0}, 9.99, []),
        ({"a": 10.0, "b": 12.0}, 10.0, ["a"]),
        ({"a": 10.0, "b": 12.0}, 20.0, ["a", "b"]),
    ],
)
def test_expired_leases_are_those_past_their_deadline(
    deadlines: dict[str, float], now_s: float, gone: list[str]
) -> None:
    assert expired(deadlines, now_s) == gone


def test_a_lease_is_ours_until_ttl_minus_the_safety_margin_after_the_request() -> None:
    settings = LeaseSettings(lease_ttl_s=30, tick_s=10, safety_s=5)
    assert lease_deadline(100.0, settings) == 125.0


def test_the_default_settings_take_a_dead_workers_cameras_over_within_60_s() -> None:
    defaults = LeaseSettings()
    assert (defaults.lease_ttl_s, defaults.tick_s, defaults.heartbeat_ttl_s) == (30, 10, 30)
    assert defaults.takeover_bound_s == 40.0
    assert defaults.takeover_bound_s <= 60
    # Renewals come often enough that one failed renewal does not stop a camera.
    assert 2 * defaults.tick_s < defaults.lease_ttl_s - defaults.safety_s


@pytest.mark.parametrize(
    "values",
    [
        {"lease_ttl_s": 0},
        {"tick_s": 10, "safety_s": 5, "lease_ttl_s": 15},  # leases would lapse between ticks
        {"safety_s": 2, "stop_timeout_s": 2},  # a camera could outlive its lease while stopping
        {"stop_timeout_s": -1},
    ],
)
def test_settings_that_would_let_leases_lapse_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        LeaseSettings(**values)
