"""MMStar's multimodal gain (MG) and multimodal leakage (ML), as the MMStar paper defines them (benchmarks.md §2.7).

For an LVLM: ``S_v`` is its score with the images, ``S_wv`` its score on the same questions with the images
withheld, ``S_t`` the score of its LLM base on the text alone. ``MG = S_v − S_wv`` and ``ML = max(0, S_wv − S_t)``.
All three are fractions (0–1) like every npo-bench score.

A text-only twin is the item's prompt with ``image=None``, the same question text, the id suffixed with
:data:`TEXT_ONLY` and ``meta["text_only"] = True``. ``S_t`` comes from ``llm_scores``: a number, or the eval JSON
that ``npo-bench eval`` wrote for a text-only MMStar run of the LLM (``--option mmstar.text_only=true``), whose
``scores.S_wv`` is that model's text-only score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npo_bench.errors import UserError
from npo_bench.types import Prompt
from npo_bench_benchmarks.common.scores import mean

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

TEXT_ONLY = "#text-only"  # id suffix of a text-only twin
LLM_FIELD = "scores.S_wv"  # the field of an eval JSON that llm_scores reads


def text_only_twin(prompt: Prompt) -> Prompt:
    """``prompt`` without its image: same question and answer, id ``<id>#text-only``, ``meta["text_only"]``."""
    return replace(prompt, id=prompt.id + TEXT_ONLY, image=None, meta={**prompt.meta, "text_only": True})


def is_text_only(prompt: Prompt) -> bool:
    return bool(prompt.meta.get("text_only"))


def llm_score(value: Any) -> float:
    """``S_t`` from the ``llm_scores`` option: a fraction in [0, 1], or the path of a text-only run's eval JSON."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fraction(float(value), "benchmark 'mmstar' option llm_scores")
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise UserError(f"benchmark 'mmstar' option llm_scores: {value!r} is neither a number nor a file path")
    path = Path(value)
    where = f"benchmark 'mmstar' option llm_scores: {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{where}: no such file", hint=f"the eval JSON of a text-only run, with field {LLM_FIELD}"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{where}: not a readable JSON file ({exc})") from None
    benchmark = data.get("benchmark") if isinstance(data, dict) else None
    if benchmark != "mmstar":
        raise UserError(f"{where}: field 'benchmark' is {benchmark!r}, not 'mmstar'")
    scores = data.get("scores")
    if not isinstance(scores, dict) or "S_wv" not in scores:
        raise UserError(
            f"{where}: no field {LLM_FIELD!r}",
            hint="evaluate the LLM with `npo-bench eval --benchmarks mmstar --option mmstar.text_only=true`",
        )
    score = scores["S_wv"]
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        raise UserError(f"{where}: field {LLM_FIELD!r} is {score!r}, not a number")
    return _fraction(float(score), f"{where}: field {LLM_FIELD!r}")


def _fraction(score: float, where: str) -> float:
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise UserError(f"{where}: {score!r} is not a fraction in [0, 1] (npo-bench scores are fractions)")
    return score


def gain_scores(
    prompts: Sequence[Prompt], verdicts: Sequence[Verdict], with_image: dict[str, float], s_t: float | None
) -> dict[str, float]:
    """``S_v``, ``S_wv``, ``MG`` overall and per core capability (``S_wv/category/…``, ``MG/category/…``), and,
    given ``s_t``, ``S_t`` and ``ML``. ``with_image`` holds the with-image scores (``accuracy``, ``category/…``)."""
    blind: list[bool] = []
    by_category: dict[str, list[bool]] = {}
    for prompt, verdict in zip(prompts, verdicts, strict=True):
        if is_text_only(prompt):
            blind.append(verdict.correct)
            by_category.setdefault(f"category/{prompt.meta.get('category')}", []).append(verdict.correct)
    s_v, s_wv = with_image["accuracy"], mean(blind)
    scores = {"S_v": s_v, "S_wv": s_wv, "MG": s_v - s_wv}
    for key, correct in sorted(by_category.items()):
        if key in with_image:  # the capabilities accuracy_by reports (a blank category has none)
            scores[f"S_wv/{key}"] = mean(correct)
            scores[f"MG/{key}"] = with_image[key] - mean(correct)
    if s_t is not None:
        scores["S_t"] = s_t
        scores["ML"] = max(0.0, s_wv - s_t)
    return scores
