"""The lm-eval model ``npo-bench``: generation on an npo-bench policy (Qwen-VL or text-only), images included.

Importing this module registers the model (``lm_eval.api.registry.register_model``). Model args
(``--model_args pretrained=DIR,preset=micro,batch_size=8``): ``pretrained`` is a model directory, a checkpoint or a
run directory (as ``npo-bench eval --model``); loading (device, dtype, attention, pixel bounds) and the decoding
defaults come from the npo-bench ``preset`` (or the run's own config), and any ``ModelConfig``/``EvalConfig`` field
given as a model arg overrides it. A request's ``gen_kwargs`` (``do_sample``, ``temperature``, ``top_p``, ``top_k``,
``max_gen_toks``, ``until``) decide its decoding.

Requests are generated in the order lm-eval gives them, ``batch_size`` prompts at a time, under the same forked,
fixed-seed RNG as ``npo-bench eval`` — so with the same batch size a task exported by :mod:`npo_bench.lmeval.export`
gets exactly the responses ``npo-bench eval`` gets, sampled or greedy. Only generation is supported.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import torch
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from npo_bench.config import EvalConfig, ModelConfig
from npo_bench.errors import UserError
from npo_bench.evaluate import EVAL_SEED
from npo_bench.lmeval.hooks import IMAGE_PLACEHOLDER
from npo_bench.model_eval import resolve_model
from npo_bench.policy.images import combine
from npo_bench.policy.loading import load_policy_for
from npo_bench.policy.sampling import sample
from npo_bench.presets import resolve
from npo_bench.types import Prompt

GEN_KWARGS = {"do_sample", "temperature", "top_p", "top_k", "max_gen_toks", "until"}


@register_model("npo-bench")
class NpoBenchLM(LM):
    """An npo-bench policy behind lm-eval's ``generate_until`` (multimodal: a request's ``visual`` images)."""

    MULTIMODAL = True  # lm-eval runs tasks with ``doc_to_image`` only on models that say so

    def __init__(self, pretrained: str, preset: str = "tiny-cpu", max_batch_size: Any = None, **overrides: Any):
        super().__init__()
        if overrides.get("batch_size") == "auto":  # lm-eval's automatic batch size: keep the config's
            overrides.pop("batch_size")
        model_dir, config, _ = resolve_model(str(pretrained), resolve(preset))
        self.model_config = _override(config.model, overrides, ModelConfig)
        self.eval_config = _override(config.eval, overrides, EvalConfig)
        if overrides:
            known = sorted(f.name for f in (*fields(ModelConfig), *fields(EvalConfig)))
            raise UserError(f"npo-bench lm-eval model: unknown model args {sorted(overrides)}", hint=f"known: {known}")
        m = self.model_config
        self.policy = load_policy_for(model_dir, m)

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> NpoBenchLM:
        from lm_eval.utils import simple_parse_args_string

        return cls.create_from_arg_obj(simple_parse_args_string(arg_string), additional_config)

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict | None = None) -> NpoBenchLM:
        """Model args win over lm-eval's ``--batch_size``; its ``--device`` (default ``cuda:0`` even on a CPU-only
        machine) is ignored: the device is ``device=`` in the model args, else the preset's ``model.device``."""
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k != "device"}
        return cls(**{**extra, **arg_dict})

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """One response per request; consecutive requests with the same decoding settings share a seeded run."""
        responses: list[str] = []
        start = 0
        while start < len(requests):
            settings = self._settings(requests[start].args[1])
            end = start + 1
            while end < len(requests) and self._settings(requests[end].args[1]) == settings:
                end += 1
            responses.extend(self._generate(requests[start:end], settings))
            start = end
        return responses

    def _generate(self, requests: list[Instance], settings: tuple) -> list[str]:
        temperature, top_p, top_k, max_new_tokens, until = settings
        prompts = [_prompt(index, request.args) for index, request in enumerate(requests)]
        size = max(int(self.eval_config.batch_size), 1)
        texts: list[str] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(EVAL_SEED)
            for begin in range(0, len(prompts), size):
                chunk = prompts[begin : begin + size]
                groups = sample(
                    self.policy, chunk, 1, temperature, top_p, max_new_tokens, "{question}", size, top_k=top_k
                )
                texts.extend(_cut(group[0].text, until) for group in groups)
        return texts

    def _settings(self, gen_kwargs: dict[str, Any]) -> tuple:
        """(temperature, top_p, top_k, max_new_tokens, until): ``do_sample=false`` means greedy."""
        unknown = sorted(set(gen_kwargs) - GEN_KWARGS)
        if unknown:
            raise UserError(f"npo-bench lm-eval model: unsupported gen_kwargs {unknown}", hint=f"known: {GEN_KWARGS}")
        e = self.eval_config
        temperature = float(gen_kwargs.get("temperature", e.temperature))
        if gen_kwargs.get("do_sample") is False:
            temperature = 0.0
        until = gen_kwargs.get("until") or []
        return (
            temperature,
            float(gen_kwargs.get("top_p", e.top_p)),
            int(gen_kwargs.get("top_k", e.top_k)),
            int(gen_kwargs.get("max_gen_toks", e.max_new_tokens)),
            tuple([until] if isinstance(until, str) else until),
        )

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        raise NotImplementedError("the npo-bench lm-eval model only generates (output_type: generate_until)")

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError("the npo-bench lm-eval model only generates (output_type: generate_until)")


def _override(section: Any, overrides: dict[str, Any], cls: type) -> Any:
    """``section`` with the model args naming its fields (consumed from ``overrides``), cast to the field types."""
    changes = {}
    for f in fields(cls):
        if f.name in overrides and overrides[f.name] is not None:
            value = overrides.pop(f.name)
            current = getattr(section, f.name)
            changes[f.name] = type(current)(value) if current is not None else value
    return replace(section, **changes)


def _prompt(index: int, args: tuple) -> Prompt:
    """A request ``(context, gen_kwargs[, {"visual": [images]}])`` as a prompt (several images side by side)."""
    images = list(args[2].get("visual") or []) if len(args) > 2 else []
    text = args[0].removeprefix(IMAGE_PLACEHOLDER) if images else args[0]
    return Prompt(f"lmeval/{index}", text, "", combine(images) if images else None)


def _cut(text: str, until: tuple[str, ...]) -> str:
    """The response up to the first stop string (lm-eval's ``until``)."""
    for stop in until:
        if stop and stop in text:
            text = text[: text.index(stop)]
    return text
