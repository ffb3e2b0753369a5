"""`If-Match` on camera updates: an editor that read revision N cannot overwrite a newer change
(the integrator page sends the revision it loaded; a stale one gets 409 and nothing changes)."""

from __future__ import annotations

from tests.hub.conftest import Hub
from tests.hub.test_cameras_api import CAMERA, client, hub  # noqa: F401 (the hub fixture)

URL = "/api/cameras/plaza-east"


async def test_if_match_refuses_a_stale_revision_and_accepts_the_current_one(hub: Hub) -> None:  # noqa: F811
    async with client(hub) as integrator:
        assert (await integrator.post("/api/cameras", json=CAMERA)).status_code == 201
        first = await integrator.patch(URL, json={"name": "A"}, headers={"If-Match": '"0"'})
        assert first.status_code == 200, first.text
        assert first.json()["revision"] == 1
        stale = await integrator.patch(URL, json={"name": "B"}, headers={"If-Match": '"0"'})
        assert stale.status_code == 409
        assert "changed since revision 0 (now 1)" in stale.json()["detail"]
        assert (await integrator.get(URL)).json()["name"] == "A"  # the stale change is not applied
        bare = await integrator.patch(URL, json={"name": "C"}, headers={"If-Match": "1"})
        assert bare.status_code == 200 and bare.json()["revision"] == 2
        any_revision = await integrator.patch(URL, json={"name": "D"}, headers={"If-Match": "*"})
        assert any_revision.status_code == 200
        without = await integrator.patch(URL, json={"name": "E"})  # the header stays optional
        assert without.status_code == 200 and without.json()["revision"] == 4
        garbage = await integrator.patch(URL, json={"name": "F"}, headers={"If-Match": "abc"})
        assert garbage.status_code == 400
        assert (await integrator.get(URL)).json()["name"] == "E"
