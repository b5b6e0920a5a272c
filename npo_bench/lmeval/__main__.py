"""``python -m npo_bench.lmeval run --model npo-bench …``: lm-eval's own CLI with the ``npo-bench`` model registered.

lm-eval creates the model before it loads any task, so its stock ``lm_eval`` command cannot see a model that an
exported task would register; this entry point imports :mod:`npo_bench.lmeval.model` first, then hands over.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        import npo_bench.lmeval.model  # noqa: F401  (registers `npo-bench`)
    except ImportError as exc:
        sys.exit(f"error: {exc.name or 'lm_eval'} is not installed (pip install 'npo-bench[lmeval]')")
    from lm_eval.__main__ import cli_evaluate

    cli_evaluate()


if __name__ == "__main__":
    main()
