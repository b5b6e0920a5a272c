"""``npo-bench compare``: train (or reuse) every method × seed, evaluate, and tabulate like the paper's Table 1.

Pure parts — :mod:`.stats` (mean ± Student-t CI), :mod:`.table` (rows, columns, best per column), :mod:`.render`
(Markdown/CSV/text) and :mod:`.plan` (reuse keys) — are separate from the I/O: :mod:`.results` reads run
directories, :mod:`.jobs` / :mod:`.executors` train, :mod:`.display` shows progress, :mod:`.report`, :mod:`.plots`
and :mod:`.html` write the report, and :mod:`.runner` puts them together.
"""
