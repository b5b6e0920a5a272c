"""Executors run a batch of :class:`~npo_bench.compare.jobs.Job` and report each :class:`Outcome` as it finishes.

- ``local``: in this process one after another (``--jobs 1``), or in ``--jobs J`` spawned worker processes;
- ``ray``: each run a Ray task with ``--cpus-per-run`` CPUs, on a local cluster started for the comparison or on an
  existing one (``--address``). Ray is imported only here, only when chosen (``pip install 'npo-bench[ray]'``).

Every executor calls the same :func:`~npo_bench.compare.jobs.train_job`, and run directories are planned before
anything starts (distinct names per config key), so results do not depend on the executor and runs never collide.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol

from npo_bench.compare.jobs import Job, Outcome, train_job
from npo_bench.errors import UserError

OnDone = Callable[[Outcome], None]
OnStart = Callable[[Job], None]


class Executor(Protocol):
    threads: int | None  # torch threads a run gets when its config leaves them unset (None: torch's default)

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone) -> None: ...


class LocalExecutor:
    def __init__(self, jobs: int = 1, work: Callable[[Job], Outcome] = train_job):
        self.jobs = max(1, jobs)
        self.threads = None
        self.work = work  # a module-level function (pickled by name into the workers); tests pass a stand-in

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone) -> None:
        if self.jobs == 1:
            for job in jobs:
                on_start(job)
                on_done(self.work(job))
            return
        context = multiprocessing.get_context("spawn")  # no forked torch state
        queue = iter(jobs)
        in_flight: dict[Future[Outcome], Job] = {}
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context)

        def start_next() -> None:  # a run is handed to a worker only when one is free: on_start means started
            job = next(queue, None)
            if job is not None:
                on_start(job)
                in_flight[pool.submit(self.work, job)] = job

        try:
            for _ in range(self.jobs):
                start_next()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    on_done(future.result())
                    start_next()
        finally:  # Ctrl-C or a failed run: nothing new starts; the running runs stop (SIGINT) or finish
            pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0):
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.threads = max(1, int(cpus_per_run))

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone) -> None:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            env = {k: v for k, v in os.environ.items() if k.startswith(("NPO_BENCH_", "HF_", "TRANSFORMERS_"))}
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": env},
                **({} if self.address else {"num_cpus": os.cpu_count() or 1}),
            )
        try:
            remote = ray.remote(num_cpus=self.cpus_per_run, max_retries=0)(train_job)
            pending = {}
            for job in jobs:
                on_start(job)
                pending[remote.remote(job)] = job
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        on_done(ray.get(ref))
                    except Exception as exc:  # noqa: BLE001 - a worker that died is a failed run
                        on_done(Outcome(job.label, job.path, False, f"{type(exc).__name__}: {exc}", 0.0))
        finally:
            if started_here:
                ray.shutdown()


def import_ray():  # noqa: ANN201 - the ray module
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray", hint="pip install 'npo-bench[ray]'") from None
    return ray


def make_executor(name: str, jobs: int = 1, address: str | None = None, cpus_per_run: float = 1.0) -> Executor:
    factories: dict[str, Callable[[], Executor]] = {
        "local": lambda: LocalExecutor(jobs),
        "ray": lambda: RayExecutor(address, cpus_per_run),
    }
    if name not in factories:
        raise UserError(f"unknown executor {name!r}", hint=f"known: {', '.join(factories)}")
    if address and name != "ray":
        raise UserError("--address is for --executor ray")
    return factories[name]()
