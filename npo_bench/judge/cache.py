"""The judge's cache: every LLM output by (benchmark, item id, sha256 of the response) and stage, optionally jsonl."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from npo_bench.errors import UserError


def response_key(benchmark: str, item_id: str, response: str) -> tuple[str, str, str]:
    """The cache key of one judgement: (benchmark, item id, sha256 of the response)."""
    return benchmark, item_id, hashlib.sha256(response.encode("utf-8")).hexdigest()


class JudgeCache:
    """LLM outputs by (benchmark, item id, response sha256) and stage; with a ``path``, also a jsonl file.

    Each line is ``{"benchmark", "item", "response_sha256", "stage", "model", "output"}``; lines written for another
    judge model are ignored, so one file can serve several judges.
    """

    def __init__(self, path: str | Path | None, model: str):
        self.path = Path(path) if path else None
        self.model = model
        self.entries: dict[tuple[str, str, str, str], str] = {}
        if self.path is not None and self.path.is_file():
            self._read()

    def get(self, key: tuple[str, str, str], stage: str) -> str | None:
        return self.entries.get((*key, stage))

    def put(self, key: tuple[str, str, str], stage: str, output: str) -> None:
        self.entries[(*key, stage)] = output
        if self.path is None:
            return
        benchmark, item, digest = key
        line = {"benchmark": benchmark, "item": item, "response_sha256": digest, "stage": stage}
        line.update(model=self.model, output=output)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _read(self) -> None:
        assert self.path is not None
        fields = ("benchmark", "item", "response_sha256", "stage", "model", "output")
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                values = [record[name] for name in fields]
            except (ValueError, KeyError, TypeError):
                raise UserError(
                    f"--judge-cache {self.path} line {number}: not a judge-cache record (fields: {', '.join(fields)})",
                    hint="delete the file or the line to rebuild it",
                ) from None
            if values[4] == self.model:
                self.entries[tuple(values[:4])] = values[5]  # type: ignore[index]
