"""The stable public API: :func:`verify`, :func:`verify_many`, :func:`reward`.

Verifiers are looked up by name in the plugin host's ``"verifier"`` registry (the built-ins come from
``npo_bench_plugins.verifiers`` through the same hook a third party uses), so ``verify(..., verifier="mine")`` works
for any installed plugin and an unknown name is a :class:`~npo_bench.errors.UserError` with a did-you-mean hint.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from npo_bench.errors import UserError
from npo_bench.host import Registry, get_host
from npo_bench.verify import auto, pool
from npo_bench.verify.format import FORMAT, training_reward
from npo_bench.verify.verdict import Verdict

_CACHE_LOCK = threading.Lock()
_cache: tuple[Registry | None, dict[str, Any]] = (None, {})


def _lookup(name: str) -> Any:
    """The callable registered as verifier ``name`` (cached per registry; classes are instantiated once)."""
    global _cache
    registry = get_host().registry("verifier")
    cached_registry, table = _cache
    if cached_registry is not registry:
        with _CACHE_LOCK:
            _cache = (registry, {})
            cached_registry, table = _cache
    found = table.get(name)
    if found is None:
        obj = registry.get(name).load()
        if isinstance(obj, type):
            obj = obj()
        if not callable(obj):
            raise UserError(f"verifier {name!r} is registered as {obj!r}, which is not callable")
        found = table[name] = obj
    return found


def _auto_options(impl: Any, options: dict[str, Any]) -> dict[str, Any]:
    """For ``"auto"``: drop options the chosen verifier does not take but another built-in does."""
    allowed = getattr(impl, "allowed_options", None)
    if allowed is None or options.keys() <= allowed:
        return options
    known = _builtin_options()
    unknown = options.keys() - known
    if unknown:
        impl.check_options({name: options[name] for name in unknown})  # raises the did-you-mean error
    return {key: value for key, value in options.items() if key in allowed}


def _builtin_options() -> frozenset[str]:
    from npo_bench.verify.base import COMMON_OPTIONS
    from npo_bench.verify.choice import CHOICE
    from npo_bench.verify.exact import EXACT
    from npo_bench.verify.math import MATH
    from npo_bench.verify.numeric import NUMERIC

    return COMMON_OPTIONS.union(*(v.accepts for v in (CHOICE, EXACT, MATH, NUMERIC, FORMAT)))


def verify(response: str, gold: Any, *, verifier: str = "auto", **options: Any) -> Verdict:
    """Judge one response against its gold answer.

    ``verifier`` names a registered verifier (``math``, ``choice``, ``numeric``, ``yes_no``, ``exact``, ``format``, or a
    plugin's), or ``"auto"`` to pick by the gold's form (:mod:`npo_bench.verify.auto`). ``options`` are the verifier's
    (docs/verifiers.md); ``item_id=`` names the item in errors. A gold that cannot be used raises ``UserError``; a
    response that cannot be parsed is an incorrect :class:`Verdict` with a reason.
    """
    if verifier == "auto":
        impl = _lookup(auto.pick(gold, options))
        if options:
            options = _auto_options(impl, options)
    else:
        impl = _lookup(verifier)
    return impl(response, gold, **options)


Item = tuple[str, Any] | Mapping[str, Any]


def _normalise_item(index: int, item: Item, verifier: str, options: dict[str, Any]) -> tuple[str, Any, str, dict]:
    if isinstance(item, Mapping):
        unknown = item.keys() - {"response", "gold", "verifier", "options", "item_id"}
        if unknown or "response" not in item or "gold" not in item:
            raise UserError(
                f"verify_many item {index}: expected keys response, gold and optionally verifier, options, item_id; "
                f"got {sorted(item)}"
            )
        merged = {**options, **(item.get("options") or {})}
        if "item_id" in item:
            merged["item_id"] = item["item_id"]
        merged.setdefault("item_id", index)
        return item["response"], item["gold"], item.get("verifier", verifier), merged
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        return item[0], item[1], verifier, {"item_id": index, **options}
    raise UserError(f"verify_many item {index}: expected a (response, gold) pair or a dict, got {type(item).__name__}")


def verify_many(
    items: Iterable[Item], *, workers: int | None = None, verifier: str = "auto", **options: Any
) -> list[Verdict]:
    """Verify many ``(response, gold)`` pairs or ``{"response", "gold", "verifier", "options", "item_id"}`` dicts.

    Verdicts come back in input order. Cheap verifiers run serially in this thread; heavy ones (``heavy = True``:
    math) run on ``workers`` threads, each driving one worker process (``workers`` also sets the worker-pool size;
    default: the current pool size). ``verifier``
    and ``options`` are defaults that an item's own keys override; ``item_id`` defaults to the item's index.
    """
    jobs = [_normalise_item(i, item, verifier, options) for i, item in enumerate(items)]
    results: list[Verdict | None] = [None] * len(jobs)
    heavy: list[int] = []
    for i, (_, gold, name, opts) in enumerate(jobs):
        impl = _lookup(auto.pick(gold, opts) if name == "auto" else name)
        if getattr(impl, "heavy", False):
            heavy.append(i)
    if workers is not None and workers < 1:
        raise UserError(f"verify_many: workers must be at least 1, got {workers}")
    if workers:
        pool.set_pool_size(workers)
    threads = workers or pool.pool_size()
    if heavy and threads > 1 and len(heavy) > 1:
        with ThreadPoolExecutor(max_workers=min(threads, len(heavy)), thread_name_prefix="npo-verify") as executor:
            futures = {i: executor.submit(_verify_job, jobs[i]) for i in heavy}
            heavy_set = set(heavy)
            for i, job in enumerate(jobs):
                if i not in heavy_set:
                    results[i] = _verify_job(job)
            for i, future in futures.items():
                results[i] = future.result()
    else:
        for i, job in enumerate(jobs):
            results[i] = _verify_job(job)
    return results  # type: ignore[return-value]


def _verify_job(job: tuple[str, Any, str, dict]) -> Verdict:
    response, gold, name, opts = job
    return verify(response, gold, verifier=name, **opts)


def reward(
    response: str, gold: Any, *, verifier: str = "auto", format_weight: float = 0.0, **options: Any
) -> tuple[float, Verdict]:
    """The training reward ``(1 - w)·accuracy + w·format`` and the accuracy verdict (``w = format_weight``)."""
    verdict = verify(response, gold, verifier=verifier, **options)
    format_options = {key: options[key] for key in ("max_chars",) if key in options}
    return training_reward(verdict.score, response, format_weight, **format_options), verdict


def warm_up(workers: int | None = None, *, wait: bool = True) -> None:
    """Start the math worker processes now (otherwise the first math verification starts one, ~2 s).

    ``wait=False`` returns at once and lets them start in the background.
    """
    from npo_bench.verify.math import HANDLER

    if workers:
        pool.set_pool_size(workers)
    pool.get_pool(HANDLER).warm_up(wait=wait)
