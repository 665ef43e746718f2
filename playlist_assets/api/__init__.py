"""The recommendation API: an HTTP service (FastAPI + uvicorn) on the serving recommender.

Modules by role: ``config`` (settings and their environment variables), ``keys`` (API keys,
hashed), ``ratelimit`` (per-key token buckets), ``versions`` (what the watcher polls),
``holder`` (the serving state and its hot swap), ``impressions`` (the served-lists log),
``metrics`` (Prometheus), ``seeds`` (request references -> track ids), ``schemas``, ``errors``,
``auth``, ``routes``, ``app`` (middleware and wiring) and ``server`` (start-up). Nothing here is
imported by the Dagster code location.
"""
