"""The door's nginx.conf: every route guarded but the API's, TLS when given, and nginx accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from playlist_assets.lib.service.nginx import DoorConfig, render
from playlist_assets.lib.service.profile import ROUTES, Profile


def _profile(tmp_path: Path) -> Profile:
    profile = Profile.from_env({"PLAYLIST_ASSETS_HOME": str(tmp_path), "PROXY_PORT": "18443"})
    for folder in (profile.log_dir, profile.nginx_dir):
        folder.mkdir(parents=True)
    return profile


def _locations(conf: str) -> dict[str, str]:
    blocks = {}
    for route in ROUTES:
        start = conf.index(f"location {route.prefix} {{")
        blocks[route.prefix] = conf[start : conf.index("\n        }", start)]
    return blocks


def test_every_route_but_the_apis_asks_the_door(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    conf = render(profile, DoorConfig("0.0.0.0", absent=frozenset()))
    assert "listen 0.0.0.0:18443;" in conf and "ssl_certificate" not in conf
    blocks = _locations(conf)
    for route in ROUTES:
        block = blocks[route.prefix]
        assert f"127.0.0.1:{profile.ports[route.service]}" in block, route
        if route.policy:
            assert f"set $door_route {route.policy};" in block and "auth_request" in block
        else:
            assert "auth_request" not in block and 'Authorization ""' not in block
    assert "set $door_route operator;" in blocks["/"]
    # The password reaches MLflow (it checks the same login), and no other service.
    assert 'Authorization ""' not in blocks["/mlflow/"]
    assert 'Authorization ""' in blocks["/"] and 'Authorization ""' in blocks["/view/"]


def test_without_the_api_its_place_answers_503(tmp_path: Path) -> None:
    conf = render(_profile(tmp_path), DoorConfig("127.0.0.1"))
    assert "return 503" in _locations(conf)["/api/"]


def test_tls_when_a_certificate_is_given(tmp_path: Path) -> None:
    conf = render(
        _profile(tmp_path), DoorConfig("0.0.0.0", Path("/c/door.crt"), Path("/c/door.key"))
    )
    assert "listen 0.0.0.0:18443 ssl;" in conf
    assert "ssl_certificate /c/door.crt;" in conf and "ssl_certificate_key /c/door.key;" in conf


@pytest.mark.skipif(not shutil.which("nginx"), reason="Debian's nginx is not installed")
def test_nginx_accepts_it(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    path = profile.nginx_dir / "nginx.conf"
    path.write_text(render(profile, DoorConfig("127.0.0.1")))
    result = subprocess.run(
        [
            "nginx",
            "-t",
            "-c",
            str(path),
            "-p",
            str(profile.nginx_dir),
            "-e",
            str(profile.log_dir / "proxy.log"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
