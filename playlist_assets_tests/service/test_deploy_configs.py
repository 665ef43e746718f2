"""The service's configuration files hold together: fast checks, part of the default test run.

Dagster validates the instance files against its own schema (and the Docker launcher's config
against the launcher's); the compose file names the image scripts/test_image.sh builds, keeps
every credential in the environment, and mounts files that exist.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DAGSTER_SERVICES = {
    "mlflow",
    "code-server",
    "webserver",
    "webserver-view",
    "daemon",
    "door",
    "api",
    "proxy",
}


@pytest.mark.parametrize("name", ["dagster.postgres.yaml", "dagster.compose.yaml"])
def test_instance_configs_pass_dagsters_schema(name: str, tmp_path: Path) -> None:
    shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DATABASE_URL"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4


@pytest.mark.parametrize(
    "path", ["dagster.yaml", "deploy/dagster.postgres.yaml", "deploy/dagster.compose.yaml"]
)
def test_runs_the_code_server_was_slow_to_start_are_queued_again(path: str, tmp_path: Path) -> None:
    shutil.copy(REPO / path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    queue = config["run_coordinator"]
    assert queue["class"] == "QueuedRunCoordinator"
    assert queue["config"]["max_user_code_failure_retries"] > 0


def test_compose_launcher_config_is_the_docker_launchers() -> None:
    dagster_docker = pytest.importorskip("dagster_docker")
    launcher = yaml.safe_load((DEPLOY / "dagster.compose.yaml").read_text())["run_launcher"]
    assert launcher["class"] == "DockerRunLauncher"
    result = validate_config(dagster_docker.DockerRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors


def _built_image() -> str:
    text = (REPO / "scripts" / "test_image.sh").read_text()
    return re.search(r"^IMAGE=\$\{IMAGE:-(\S+)\}$", text, re.M).group(1)


def test_compose_runs_the_image_the_smoke_test_builds() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", *DAGSTER_SERVICES}
    for name in DAGSTER_SERVICES:
        image = services[name]["image"]
        default = re.fullmatch(r"\$\{PLAYLIST_ASSETS_IMAGE:-(\S+)\}", image)
        assert default and default.group(1) == _built_image(), (name, image)


def test_compose_keeps_data_and_credentials_where_they_belong() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    # Named volumes for the data folder and Postgres; the launcher mounts the data one by name.
    names = {v["name"] for v in compose["volumes"].values()}
    launcher = yaml.safe_load((DEPLOY / "dagster.compose.yaml").read_text())["run_launcher"]
    mounted = {v.split(":")[0] for v in launcher["config"]["container_kwargs"]["volumes"]}
    assert mounted <= names
    # Every password comes from the environment.
    for url in re.findall(r"postgresql\+psycopg2://\S+", text):
        assert "${POSTGRES_PASSWORD" in url, url
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source
    workspace = yaml.safe_load((DEPLOY / "workspace.compose.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert grpc["host"] in compose["services"]
    command = compose["services"]["code-server"]["command"]
    assert str(grpc["port"]) in command
    # The run containers yield the cores to the API: a lower CPU weight than every service's.
    run_weight = launcher["config"]["container_kwargs"]["cpu_shares"]
    assert all(run_weight < s.get("cpu_shares", 1024) for s in compose["services"].values())


def test_compose_publishes_only_the_door() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    # On loopback until an operator exists and PROXY_PUBLISH opens it.
    assert services["proxy"]["ports"] == ["${PROXY_PUBLISH:-127.0.0.1:8080}:8080"]
    # The door's upstreams are the compose services that run them.
    proxy = " ".join(services["proxy"]["command"])
    for upstream in ("webserver:3000", "webserver-view:3001", "mlflow:5000"):
        assert f"={upstream}" in proxy and upstream.split(":")[0] in services
    view = services["webserver-view"]["command"]
    assert "--read-only" in view and view[view.index("--path-prefix") + 1] == "/view"
    mlflow = " ".join(services["mlflow"]["command"])
    assert "--app-name basic-auth" in mlflow and "--static-prefix /mlflow" in mlflow
    assert "CREATE DATABASE mlflow_auth" in (DEPLOY / "postgres-init.sql").read_text()
    launcher = yaml.safe_load((DEPLOY / "dagster.compose.yaml").read_text())["run_launcher"]
    assert {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"} <= set(
        launcher["config"]["env_vars"]
    )


def test_compose_door_renders_a_config_nginx_accepts(tmp_path: Path) -> None:
    """The proxy container's own command line, run here (container host names become 127.0.0.1
    only in what nginx resolves: it must know them, so this renders with loopback upstreams)."""
    import subprocess
    import sys

    nginx = shutil.which("nginx")
    if not nginx:
        pytest.skip("Debian's nginx is not installed")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    command = compose["services"]["proxy"]["command"][2]
    render = command.split("&&")[1].split(">")[0].split()
    assert render[:3] == ["playlist-assets", "service", "nginx-conf"]
    args = [
        a.replace("webserver-view:", "127.0.0.1:")
        .replace("webserver:", "127.0.0.1:")
        .replace("mlflow:", "127.0.0.1:")
        .replace("api:", "127.0.0.1:")
        for a in render[3:]
    ]
    env = {**__import__("os").environ, "PLAYLIST_ASSETS_HOME": str(tmp_path)}
    cli = Path(sys.executable).with_name("playlist-assets")
    conf = subprocess.run(
        [str(cli), "service", "nginx-conf", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "return 503" in conf.split("location /dashboard/")[1].split("}")[0]
    for folder in ("service/logs", "service/run/nginx"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-c",
            str(tmp_path / "nginx.conf"),
            "-p",
            str(tmp_path / "service/run/nginx"),
            "-e",
            "stderr",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_helm_values_use_the_k8s_launcher_and_external_postgres() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "playlist_assets.definitions"]
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
    # Viewers' read-only webserver; nothing exposed but through the door.
    assert values["dagsterWebserver"]["enableReadOnly"] is True
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False
    assert "password" not in (DEPLOY / "helm" / "values.yaml").read_text().lower().replace(
        "postgresql-password", ""
    ).replace("passwordsecret", "")
