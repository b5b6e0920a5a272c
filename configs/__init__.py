"""Built-in configuration files: `presets/` (whole runs), `methods/` (guidance presets), `models/`.

Installed as `npo_bench_configs` so the YAML files travel inside the wheel; read them with
`npo_bench.config.builtin_config_path(kind, name)`.
"""
