# Serves `dagster dev` (webserver + daemon) on 0.0.0.0:3000 with the data folder as a volume:
#   docker build -t playlist-assets .
#   docker run -p 3000:3000 -v playlist-data:/data playlist-assets
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GX_ANALYTICS_ENABLED=false \
    OMP_WAIT_POLICY=passive \
    PLAYLIST_ASSETS_HOME=/data \
    DAGSTER_HOME=/data/dagster_home

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY playlist_assets ./playlist_assets
RUN pip install . && python -m ipykernel install --sys-prefix --name python3
COPY workspace.yaml dagster.yaml ./

VOLUME ["/data"]
EXPOSE 3000

# The instance config lives in the volume so runs, schedules and sensor cursors survive restarts.
CMD ["sh", "-c", "mkdir -p \"$DAGSTER_HOME\" && { [ -f \"$DAGSTER_HOME/dagster.yaml\" ] || cp /app/dagster.yaml \"$DAGSTER_HOME/\"; } && exec dagster dev -w /app/workspace.yaml -h 0.0.0.0 -p 3000"]
