"""Drift of the hourly feed against the champion's training data, and drift episodes."""
