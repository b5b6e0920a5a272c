"""Placeholder module so the entry point resolves while the source is being written (registers nothing yet)."""
