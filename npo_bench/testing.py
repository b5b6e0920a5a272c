"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point).

``plugin_host``: a fresh :class:`~npo_bench.host.PluginHost` with the installed entry points, swapped in as the
process-wide host for the test and restored afterwards, so a test can ``register`` inline plugins without leaking.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from npo_bench.host import PluginHost, set_host


@pytest.fixture
def plugin_host() -> Iterator[PluginHost]:
    host = PluginHost()
    previous = set_host(host)
    try:
        yield host
    finally:
        set_host(previous)
