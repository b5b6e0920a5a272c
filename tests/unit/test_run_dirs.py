"""One writer per run directory: names stay inside runs_dir, creation is exclusive, a lock names its holder."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from npo_bench.cli import main
from npo_bench.errors import UserError
from npo_bench.presets import resolve
from npo_bench.runlock import LOCK_FILE, RunLock
from npo_bench.runs import RunDir, run_name_problem
from npo_bench.trainer.loop import create_run


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "", " ", ".", "..", "a/b", "a\\b", ".hidden", "-flag", "x\0y"])
def test_a_run_name_cannot_escape_the_runs_directory(name, tmp_path, capsys):
    assert run_name_problem(name) is not None
    with pytest.raises(UserError, match="name="):
        resolve("micro", overrides=[f"name={name}"] if name.strip() else ["name=''"])
    runs = tmp_path / "runs"
    assert main(["run", "--preset", "micro", "--runs-dir", str(runs), f"--name={name}"]) == 2
    assert "name" in _error_line(capsys)
    assert not runs.exists()
    assert not (tmp_path.parent / "x").exists()


def test_ordinary_names_are_fine():
    for name in ("micro-grpo-seed0-20250101-120000", "npo_early-seed1-abcdef12", "my run (v2)", "x" * 200):
        assert run_name_problem(name) is None


def _config(runs: Path, name: str | None = None):
    config = resolve("micro")
    config.runs_dir, config.name = str(runs), name
    return config


def test_an_explicit_name_that_exists_is_an_error_and_a_derived_one_gets_a_suffix(tmp_path, monkeypatch):
    import npo_bench.trainer.loop as loop

    create_run(_config(tmp_path, "taken"), {}).lock.release()
    with pytest.raises(UserError, match="already exists.*--resume"):
        create_run(_config(tmp_path, "taken"), {})
    monkeypatch.setattr(loop, "default_run_name", lambda config: "same-second")  # two starts in one second
    first, second = _config(tmp_path), _config(tmp_path)
    assert create_run(first, {}).path.name == first.name == "same-second"
    run = create_run(second, {})
    assert run.path.name == second.name == "same-second-2"
    assert "name: same-second-2" in (run.path / "config.yaml").read_text()  # the resolved config follows


def test_threads_racing_for_one_name_never_share_a_directory(tmp_path, monkeypatch):
    import npo_bench.trainer.loop as loop

    monkeypatch.setattr(loop, "default_run_name", lambda config: "same-second")
    barrier = threading.Barrier(8)
    made: list[Path] = []
    errors: list[Exception] = []

    def start(name: str | None) -> None:
        barrier.wait()
        try:
            made.append(create_run(_config(tmp_path / name if name else tmp_path), {}).path)
        except UserError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(None,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 8 and len(set(made)) == 8 and not errors
    assert {p.name for p in made} == {"same-second"} | {f"same-second-{i}" for i in range(2, 9)}

    barrier = threading.Barrier(8)
    made.clear()

    def start_named() -> None:
        barrier.wait()
        try:
            made.append(create_run(_config(tmp_path / "named", "one"), {}).path)
        except UserError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_named) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len(errors) == 7
    assert all("already exists" in str(e) for e in errors)


def _create_in_process(runs: str, name: str, queue) -> None:  # a spawned process: module-level for pickling
    config = resolve("micro")
    config.runs_dir, config.name = runs, name
    try:
        queue.put(("ok", str(create_run(config, {}).path)))
    except UserError as exc:
        queue.put(("error", str(exc)))


def test_two_processes_racing_for_one_name(tmp_path):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_create_in_process, args=(str(tmp_path), "race", queue)) for _ in range(2)]
    for process in processes:
        process.start()
    results = sorted(queue.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert [kind for kind, _ in results] == ["error", "ok"]
    assert "already exists" in results[0][1]


def test_a_second_writer_gets_one_line_naming_the_holder(tmp_path, capsys):
    run = create_run(_config(tmp_path, "held"), {})
    assert run.lock.held
    holder = (run.path / LOCK_FILE).read_text()
    assert holder.startswith(f"pid {__import__('os').getpid()} on ")
    with pytest.raises(UserError, match=f"in use by another npo-bench process \\(pid {__import__('os').getpid()} "):
        RunDir.open(run.path, lock=True)
    assert main(["run", "--resume", str(run.path)]) == 2
    assert "is in use by another npo-bench process (pid" in _error_line(capsys)
    _save_a_checkpoint(run)
    assert main(["eval", "--model", str(run.path), "--limit", "1"]) == 2  # eval writes into RUN/eval: a writer too
    assert "in use by another npo-bench process" in _error_line(capsys)
    run.lock.release()
    RunDir.open(run.path, lock=True).lock.release()


def _save_a_checkpoint(run: RunDir) -> None:
    from safetensors.torch import save_file

    from npo_bench.trainer.checkpoints import capture_rng, save_checkpoint

    class Model:
        def save_pretrained(self, folder: Path) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            save_file({"w": torch.zeros(2)}, str(folder / "model.safetensors"))

    state = {"step": 0, "optimizer": {}, "rng": capture_rng(), "source": {}, "metrics_lines": 0, "events_lines": 0}
    save_checkpoint(run.checkpoints, "step-000000", Model(), None, state)


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_untouched(tmp_path):
    run = create_run(_config(tmp_path, "linked"), {})
    run.lock.release()
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=...\n")
    (run.path / LOCK_FILE).unlink()
    (run.path / LOCK_FILE).symlink_to(victim)
    with pytest.raises(UserError, match=f"{LOCK_FILE}: it is a symbolic link"):
        RunLock(run.path).acquire()
    assert victim.read_text() == "export PATH=...\n"


def test_the_lock_dies_with_its_process(tmp_path):
    run = create_run(_config(tmp_path, "killed"), {})
    run.lock.release()
    code = (
        "import sys, time; from pathlib import Path; from npo_bench.runlock import RunLock; "
        f"lock = RunLock(Path({str(run.path)!r})); lock.acquire(); print('locked', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"pid {child.pid} "):
            RunLock(run.path).acquire()
    finally:
        child.kill()  # SIGKILL: no clean-up code runs
        child.wait()
    lock = RunLock(run.path)
    lock.acquire()  # the kernel dropped the dead process's lock
    lock.release()


def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path, monkeypatch, capsys):
    import npo_bench.trainer.loop as loop

    def broken_base(config, log=None):
        raise UserError("the base model cannot be built (test)")

    monkeypatch.setattr(loop, "base_model_dir", broken_base)
    runs = tmp_path / "a" / "b" / "runs"
    assert main(["run", "--preset", "micro", "--runs-dir", str(runs), "--name", "gone"]) == 2
    assert "the base model cannot be built" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # the run directory and the folders made for it are gone
