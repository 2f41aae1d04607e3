"""Benchmarks at national scale: `python -m bench generate --facilitators N`, `python -m bench measure`."""
