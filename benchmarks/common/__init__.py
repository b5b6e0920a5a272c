"""Shared machinery of the file-backed benchmarks: row sources, image decoding, schema checks, the base class."""
