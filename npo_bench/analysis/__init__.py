"""Analyses of finished runs: learning curves read from the logs (:mod:`.curves`) and the Q/V/S trade-off of the NPO
paper's §5 measured on a run's own checkpoints (:mod:`.qvs`, :mod:`.qvs_run`)."""
