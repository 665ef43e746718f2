# The playlist_assets image: one image for every service shape.
#   default CMD     dagster dev (webserver + daemon) on the embedded defaults, data in /data
#   compose / Helm  the same image as code server (dagster code-server start), webservers,
#                   daemon, run workers, MLflow and the door (nginx + its login check), with
#                   DAGSTER_INSTANCE_CONFIG=.../dagster.postgres.yaml
# Build: docker build -t playlist-assets .   (BASE_IMAGE: any Debian-like image with Python 3.11
# and pip on PATH; scripts/test_image.sh builds one offline with debootstrap).
ARG BASE_IMAGE=python:3.11-slim

# Stage 1: the project's wheel. Nothing of this stage reaches the final image but the wheel.
FROM ${BASE_IMAGE} AS wheel
WORKDIR /build
COPY pyproject.toml setup.py README.md ./
# The runtime dependencies as a requirements file: the final stage's dependency layer is keyed
# on its content, so editing anything else in pyproject.toml does not reinstall them.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt
COPY playlist_assets ./playlist_assets
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GX_ANALYTICS_ENABLED=false \
    GIT_PYTHON_REFRESH=quiet \
    MLFLOW_DISABLE_TELEMETRY=true \
    OMP_WAIT_POLICY=passive \
    PLAYLIST_ASSETS_HOME=/data \
    DAGSTER_HOME=/data/dagster_home \
    DAGSTER_INSTANCE_CONFIG=/opt/playlist_assets/dagster.yaml

# The door's reverse proxy: Debian's nginx (auth_request, TLS). Never started as a system
# service here; the proxy container runs it in the foreground as user app.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# Dependencies in their own layer: rebuilt only when the dependency list changes.
COPY --from=wheel /build/requirements.txt /tmp/build/requirements.txt
RUN pip install --no-cache-dir -r /tmp/build/requirements.txt && rm -rf /tmp/build /root/.cache

COPY --from=wheel /dist /tmp/dist
# The wheel with its "service" extra (dagster-docker for compose's DockerRunLauncher).
RUN pip install --no-cache-dir "$(ls /tmp/dist/*.whl)[service]" \
    && python -m ipykernel install --sys-prefix --name python3 \
    && rm -rf /tmp/dist /root/.cache \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home app \
    && mkdir -p /data && chown app:app /data

# Instance configs live outside the working directory (/data): dagster never finds a stray
# dagster.yaml in the current folder, and no source tree shadows the installed package.
COPY dagster.yaml workspace.yaml deploy/dagster.postgres.yaml deploy/entrypoint.sh /opt/playlist_assets/

USER app
WORKDIR /data
VOLUME ["/data"]
# 8080 the door (nginx: the only port to publish), 3000/3001 the webservers, 4000 code server
# (gRPC), 5000 MLflow, 8866 the Voila dashboard: private-network ports behind the door.
EXPOSE 8080 3000 3001 4000 5000 8866

# No curl in slim images: the webserver's health from Python (DAGSTER_WEBSERVER_PORT if moved). Compose/Helm override this for the
# code server (dagster api grpc-health-check) and the daemon (dagster-daemon liveness-check).
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/server_info' % os.environ.get('DAGSTER_WEBSERVER_PORT', '3000'), timeout=8)"]

ENTRYPOINT ["sh", "/opt/playlist_assets/entrypoint.sh"]
# The workspace names the code location "playlist_assets", as every other shape does.
CMD ["dagster", "dev", "-h", "0.0.0.0", "-p", "3000", "-w", "/opt/playlist_assets/workspace.yaml"]
