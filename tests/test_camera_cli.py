"""`xueliang cameras ...` against a live hub: the integrator's command line, end to end."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.sealing import new_key
from tests.canary import CANARY_PASSWORD, leaks
from tests.hub.conftest import Hub, _serve
from xueliang.cli import main
from xueliang.gateway import CameraAccess, network_policy

INTEGRATOR = "integrator-cli-4f1a"


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hub]:
    gateway = CameraAccess(network_policy("127.0.0.1/32"), timeout_s=2.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
        integrator_token=SecretStr(INTEGRATOR), secret_key=SecretStr(new_key()),
    ):  # fmt: skip
        monkeypatch.setenv("XUELIANG_TOKEN", INTEGRATOR)
        monkeypatch.setenv("XUELIANG_HUB_URL", running.base)
        yield running


async def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = await asyncio.to_thread(main, ["cameras", *argv])  # sync HTTP: off the hub's loop
    out, err = capsys.readouterr()
    assert not leaks(out) and not leaks(err)
    return code, out, err


async def test_an_integrator_manages_a_camera_from_the_command_line(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = await cli(
        capsys, monkeypatch, "add", "--id", "north-gate", "--rtsp", "rtsp://127.0.0.1:8554/n",
        "--username", "admin", "--password-stdin", "--lat", "30.6", "--lon", "104.0",
        "--name", "North gate", "--tag", "gate", "--tag", "north",
        stdin=CANARY_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert added["has_password"] and added["tags"] == ["gate", "north"]
    code, out, _ = await cli(capsys, monkeypatch, "list")
    assert code == 0 and out.startswith("north-gate\tenabled\tNorth gate\t")
    code, out, _ = await cli(capsys, monkeypatch, "disable", "north-gate")
    assert code == 0 and json.loads(out)["enabled"] is False
    code, out, _ = await cli(capsys, monkeypatch, "update", "north-gate", "--clear-password")
    assert code == 0 and json.loads(out)["has_password"] is False
    code, out, _ = await cli(capsys, monkeypatch, "remove", "north-gate")
    assert code == 0 and "removed north-gate" in out
    code, _, err = await cli(capsys, monkeypatch, "show", "north-gate")
    assert code == 2 and "404" in err


async def test_refusals_are_one_clear_line(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = await cli(
        capsys, monkeypatch, "add", "--rtsp", "rtsp://10.1.1.1/x", "--lat", "1", "--lon", "2"
    )
    assert code == 2 and err.count("\n") == 1 and "outside the allowed camera networks" in err
    code, _, err = await cli(
        capsys, monkeypatch, "add", "--rtsp", "rtsp://127.0.0.1/x", "--lat", "91", "--lon", "2"
    )
    assert code == 2 and "location.lat" in err
    monkeypatch.setenv("XUELIANG_TOKEN", "wrong")
    code, _, err = await cli(capsys, monkeypatch, "list")
    assert code == 2 and "401" in err
    code, _, err = await cli(capsys, monkeypatch, "--hub", "http://127.0.0.1:9", "list")
    assert code == 2 and "cannot reach the hub" in err


RULES_YAML = """
ground_calibration:
  image: [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
  ground_m: [[0.0, 10.0], [20.0, 10.0], [20.0, 0.0], [0.0, 0.0]]
zones:
  - {id: pavement, polygon: [[0.0, 0.6], [1.0, 0.6], [1.0, 1.0], [0.0, 1.0]]}
rules:
  - {id: dense, zone_id: pavement, min_people: 5, min_density_per_m2: 2}
"""


async def test_a_rules_file_brings_the_ground_calibration_a_density_rule_needs(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    base = ["add", "--rtsp", "rtsp://127.0.0.1:8554/p", "--lat", "30.6", "--lon", "104.0"]
    code, out, err = await cli(capsys, monkeypatch, *base, "--id", "plaza", "--rules", str(rules))
    assert code == 0, err
    added = json.loads(out)
    assert added["ground_calibration"]["ground_m"][1] == [20.0, 10.0]
    assert added["rules"][0]["min_density_per_m2"] == 2
    rules.write_text(RULES_YAML.split("zones:")[0].replace("ground_calibration", "calibration"))
    code, _, err = await cli(capsys, monkeypatch, *base, "--id", "other", "--rules", str(rules))
    assert code == 2 and "ground_calibration" in err and err.count("\n") == 1
