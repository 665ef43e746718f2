"""Shim so ``pip install -e .`` works with tooling that predates PEP 660; pyproject.toml is the source of truth."""

from setuptools import setup

setup()
