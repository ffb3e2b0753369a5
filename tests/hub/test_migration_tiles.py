"""Stored tile keys come from two places, migration 0004's backfill and the store; they must agree,
or incidents opened before the upgrade stop being merge candidates."""

from __future__ import annotations

import importlib

import pytest

from hub.merging import tile_of

migration = importlib.import_module("hub.migrations.versions.0004_incident_place")

POINTS = [
    (39.9042, 116.4074),  # Beijing
    (31.2304, 121.4737),
    (-33.8688, 151.2093),  # southern hemisphere: floor, not truncation
    (0.0, 0.0),
    (22.5431, -0.0049),  # just west of the prime meridian
    (89.999, 179.999),
]


@pytest.mark.parametrize(("lat", "lon"), POINTS)
def test_backfilled_tiles_match_the_live_tile_key(lat: float, lon: float) -> None:
    assert migration.tile_of(lat, lon) == tile_of(lat, lon)


def test_the_migration_does_not_import_the_live_tile_key() -> None:
    assert migration.tile_of is not tile_of  # its own copy, frozen with the revision
