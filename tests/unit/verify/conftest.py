"""Verifier tests run against a host holding only the built-in verifier plugin (no other plugin needs to import),
with one math worker process (~2 s to start: sympy and math-verify imports), started in the background at once.
Module-scoped so the swapped-in host never leaks into tests outside this directory."""

from __future__ import annotations

import pytest

import npo_bench_plugins.verifiers as builtin_verifiers
from npo_bench.host import PluginHost, set_host
from npo_bench.verify import warm_up


@pytest.fixture(autouse=True, scope="module")
def verifier_host():
    host = PluginHost(load_entry_points=False)
    host.register(builtin_verifiers, name="verifiers")
    previous = set_host(host)
    warm_up(1, wait=False)
    yield host
    set_host(previous)
