"""The ``grpo`` guidance source: no guidance at all (pure on-policy GRPO, the backbone every method shares)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from npo_bench import UserError, hookimpl
from npo_bench.guidance import TrainerControl
from npo_bench.types import Group, Injection, Prompt, StepStats


class NoGuidance:
    """Pure on-policy GRPO: groups are left exactly as sampled."""

    options: Mapping[str, str] = {}

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        if options:
            raise UserError(f"source 'grpo' takes no options, got {sorted(options)}")

    def before_step(self, ctl: TrainerControl) -> None:
        return None

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return list(fresh)

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        return []

    def after_step(self, stats: StepStats) -> None:
        return None

    def metrics(self) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


@hookimpl
def npo_bench_register_sources(register):
    register("grpo", NoGuidance, description="no guidance: pure on-policy GRPO")
