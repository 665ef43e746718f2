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
DAGSTER_SERVICES = {"mlflow", "code-server", "webserver", "daemon"}


@pytest.mark.parametrize("name", ["dagster.postgres.yaml", "dagster.compose.yaml"])
def test_instance_configs_pass_dagsters_schema(name: str, tmp_path: Path) -> None:
    shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DATABASE_URL"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4


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
    assert str(grpc["port"]) in compose["services"]["code-server"]["command"]


def test_helm_values_use_the_k8s_launcher_and_external_postgres() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "playlist_assets.definitions"]
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
    assert "password" not in (DEPLOY / "helm" / "values.yaml").read_text().lower().replace(
        "postgresql-password", ""
    ).replace("passwordsecret", "")
