"""Partitions shared by the feed, its checks and drift monitoring."""

import dagster as dg

# One partition = the tracks that arrived in that hour.
hourly_partitions = dg.HourlyPartitionsDefinition(start_date="2026-11-01-00:00")
