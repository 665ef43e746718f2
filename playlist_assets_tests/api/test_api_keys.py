"""API keys and rate limits: ``playlist-assets api-keys`` and a service that requires keys."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import httpx
import pytest
from api_harness import Api, tracks_of

from playlist_assets import cli


@pytest.fixture
def keys_cli(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """``keys_cli(*args)`` -> (exit code, stdout, stderr) of ``playlist-assets api-keys``."""
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["api-keys", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def create(keys_cli, role: str, name: str = "") -> str:
    code, out, _ = keys_cli("create", "--role", role, "--name", name)
    assert code == 0
    return out.strip()


def test_keys_are_stored_hashed_listed_and_revoked(home: Path, keys_cli) -> None:
    key = create(keys_cli, "client", "demo app")
    assert key.startswith("pa_")
    stored = home / "api" / "keys.json"
    assert key not in stored.read_text() and "$argon2id$" in stored.read_text()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    key_id = json.loads(stored.read_text())["keys"][0]["id"]
    assert key_id in key
    code, out, _ = keys_cli("list")
    assert code == 0 and key_id in out and "demo app" in out and key not in out
    assert keys_cli("revoke", key_id)[0] == 0
    assert json.loads(stored.read_text())["keys"][0]["revoked_at"]
    code, _, err = keys_cli("revoke", "00000000")
    assert code == 2 and "no key with id 00000000" in err
    assert keys_cli("revoke", "x")[0] == 2


def test_refuses_to_listen_off_loopback_without_keys(home: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    assert cli.main(["api", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without API keys" in err
    assert "api-keys create" in err


def test_behind_a_proxy_keys_are_required_before_any_exists(
    home: Path, start_api, keys_cli
) -> None:
    api: Api = start_api(home, "--require-keys", "--root-path", "/api")
    assert "none exists yet" in api.log.read_text()
    with api.client() as anonymous:
        refused = anonymous.post("/v1/recommendations", json={"seeds": ["mpd:1"]})
        assert refused.status_code == 401
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/openapi.json").json()["servers"] == [{"url": "/api"}]
    key = create(keys_cli, "client")
    with api.client(key) as app:  # a key created while it runs works at once
        answer = app.post("/v1/recommendations", json={"seeds": ["mpd:1"]})
        assert answer.status_code in (200, 503)  # 503 while the first load runs


def test_keys_roles_revocation_and_rate_limits_over_http(
    home: Path, keys_cli, start_api, sample_home: dict
) -> None:
    admin = create(keys_cli, "admin", "ops")
    client_key = create(keys_cli, "client", "app")
    burster = create(keys_cli, "client", "noisy app")
    crowd = create(keys_cli, "client", "an app opening many connections")
    api: Api = start_api(home, "--rate", "1", "--burst", "3")
    assert "API keys required" in api.log.read_text()
    api.wait_ready()
    body = {"seeds": tracks_of(sample_home, 4)[:5], "k": 5}

    with api.client() as anonymous:
        refused = anonymous.post("/v1/recommendations", json=body)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["field"] == "authorization"
        wrong = client_key[:-4] + "AAAA"
        assert (
            anonymous.post("/v1/recommendations", json=body, headers=_bearer(wrong)).status_code
            == 401
        )
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/readyz").status_code == 200  # load balancers need no key

    with api.client(client_key) as app:
        assert app.post("/v1/recommendations", json=body).status_code == 200
        other_header = httpx.get(
            f"{api.url}/v1/songs/{body['seeds'][0]}", headers={"X-API-Key": client_key}
        )
        assert other_header.status_code == 200
        assert app.get("/v1/admin/usage").status_code == 403
        assert app.get("/metrics").status_code == 403

    with api.client(burster) as noisy:
        answers = [noisy.post("/v1/recommendations", json=body) for _ in range(10)]
    statuses = [a.status_code for a in answers]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"

    with api.client(client_key) as app:  # the noisy key's limit costs the others nothing
        assert app.post("/v1/recommendations", json=body).status_code == 200

    async def first_use() -> list[httpx.Response]:  # 30 connections bring a new key at once
        async with httpx.AsyncClient(base_url=api.url, headers=_bearer(crowd)) as app:
            return await asyncio.gather(
                *(app.post("/v1/recommendations", json=body) for _ in range(30))
            )

    crowded = asyncio.run(first_use())
    assert not [a for a in crowded if "too many new keys" in a.text]  # one hash check, not 30
    assert {a.status_code for a in crowded} <= {200, 429}

    with api.client(admin) as ops:
        usage = ops.get("/v1/admin/usage").json()
        noisy_id = burster.split("_")[1]
        assert usage["keys"][noisy_id]["rate_limited"] >= 1
        assert usage["serving"]["ready"] is True
        assert "playlist_api_rate_limited_total" in ops.get("/metrics").text

    client_id = client_key.split("_")[1]
    assert keys_cli("revoke", client_id)[0] == 0
    with api.client(client_key) as app:
        revoked = app.post("/v1/recommendations", json=body)
        assert revoked.status_code == 401
        assert "revoked" in revoked.json()["error"]["message"]

    log = api.log.read_text()
    for key in (admin, client_key, burster):
        assert key not in log and key.split("_", 2)[2] not in log
    lines = [r for r in api.log_lines() if r.get("event") == "request"]
    assert {r["key_id"] for r in lines} >= {client_id, noisy_id}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
