"""The `duelgym run` and `duelgym report` commands: outputs, schema, determinism, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from duelgym.experiment.cli import main

QUICK_LINEAR = ["run", "--env", "LinearDuel-v0", "--quick", "--agents", "passive,dts,boltzmann"]


def run(out: Path, *extra: str) -> dict:
    main([*QUICK_LINEAR, "--out", str(out), *extra])
    return json.loads((out / "summary.json").read_text())


def check_outputs(out: Path, metric: str, agents: set[str]) -> dict:
    assert {p.name for p in out.iterdir()} >= {
        "config.json",
        "metrics.jsonl",
        "summary.json",
        "summary.md",
        "curves.png",
    }
    config = json.loads((out / "config.json").read_text())
    assert config["version"] == "0.1.0"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all({"agent", "seed", "queries", "metric", "value"} <= set(r) for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == metric and isinstance(summary["target"], float)
    assert set(summary["agents"]) == agents
    for entry in summary["agents"].values():
        assert {"final_mean", "final_stderr", "queries_to_target", "multiplier"} <= set(entry)
        assert isinstance(entry["final_mean"], float) and isinstance(entry["final_stderr"], float)
        assert entry["queries_to_target"] is None or isinstance(entry["queries_to_target"], float)
    assert summary["agents"]["passive"]["multiplier"] == 1.0
    assert "| agent |" in (out / "summary.md").read_text()
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return summary


def test_quick_linear_run_writes_every_output_with_the_documented_schema(tmp_path: Path, capsys) -> None:
    summary = run(tmp_path / "a")
    check_outputs(tmp_path / "a", "simple_regret", {"passive", "dts", "boltzmann"})
    assert all("cumulative_regret_mean" in entry for entry in summary["agents"].values())
    assert "results in" in capsys.readouterr().out


def test_same_seed_same_summary(tmp_path: Path) -> None:
    assert (tmp_path / "a").exists() is False
    run(tmp_path / "a")
    run(tmp_path / "b")
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()


def test_report_redraws_from_metrics_alone(tmp_path: Path) -> None:
    out = tmp_path / "a"
    run(out)
    before = (out / "summary.json").read_bytes()
    for name in ("summary.json", "summary.md", "curves.png"):
        (out / name).unlink()
    main(["report", str(out)])
    assert (out / "summary.json").read_bytes() == before and (out / "curves.png").exists()


@pytest.mark.slow
def test_quick_llm_run_writes_every_output(tmp_path: Path) -> None:
    main(["run", "--quick", "--agents", "passive,dts", "--out", str(tmp_path / "llm")])
    summary = check_outputs(tmp_path / "llm", "win_rate", {"passive", "dts"})
    assert 0.0 < summary["target"] < 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--env", "CartPole-v1"], "unknown env 'CartPole-v1'; known envs: LLMDuel-v0, LinearDuel-v0, MatrixDuel-v0"),
        (["--env", "LinearDuel-v0", "--agents", "passive,tds"], "unknown agent(s) tds; known agents: bai-ts"),
        (["--env", "LinearDuel-v0", "--queries", "100"], "queries must be a multiple of batch_size=32, got 100"),
        (["--env", "LinearDuel-v0", "--queries", "0"], "queries must be >= 1, got 0"),
        (["--env", "LinearDuel-v0", "--device", "tpu"], "device must be 'cpu', 'cuda', 'cuda:N' or 'auto'"),
        (["--env", "LinearDuel-v0", "--env-kwargs", '{"dim": 0}'], "dim must be >= 1"),
    ],
)
def test_bad_run_arguments_are_reported(tmp_path: Path, arguments: list, message: str) -> None:
    with pytest.raises(SystemExit, match=f"error: {message}".replace("(", r"\(").replace(")", r"\)")):
        main(["run", "--quick", "--out", str(tmp_path / "x"), *arguments])


def test_malformed_env_kwargs_json_is_reported(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--env-kwargs", "{dim: 3", "--out", str(tmp_path / "x")])
    assert "--env-kwargs must be a JSON object" in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the error on machines without CUDA")
def test_cuda_without_cuda_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="CUDA is not available"):
        main([*QUICK_LINEAR, "--device", "cuda", "--out", str(tmp_path / "x")])


def test_an_unwritable_results_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # unwritable as a directory even for root
    with pytest.raises(SystemExit, match="cannot write the results directory"):
        main([*QUICK_LINEAR, "--out", str(blocker / "run")])


def test_a_config_change_on_resume_is_refused_with_the_fields_named(tmp_path: Path) -> None:
    run(tmp_path / "a")
    with pytest.raises(SystemExit, match=r"holds a run of another config \(fields that differ: eval_every, queries\)"):
        run(tmp_path / "a", "--queries", "640", "--eval-every", "4")


def test_rerunning_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    summary = run(tmp_path / "a")
    lines = (tmp_path / "a" / "metrics.jsonl").read_text()
    assert run(tmp_path / "a") == summary
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == lines


@pytest.mark.slow
def test_a_run_killed_at_several_points_resumes_to_the_same_summary(tmp_path: Path) -> None:
    arguments = [sys.executable, "-m", "duelgym.experiment.cli", *QUICK_LINEAR[:-1], "passive,dts"]
    subprocess.run([*arguments, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    killed = tmp_path / "killed"
    metrics = killed / "metrics.jsonl"
    counts = []
    for lines_before_kill in (1, 7, 15):
        process = subprocess.Popen(
            [*arguments, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if metrics.exists() and metrics.read_text().count("\n") >= lines_before_kill:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        lines = metrics.read_text().splitlines()
        counts.append(len(lines))
        for line in lines:
            json.loads(line)  # never a partial line
    assert counts[0] < 24 and counts == sorted(counts), f"the kills must land mid-run: {counts}"
    subprocess.run([*arguments, "--out", str(killed)], check=True, capture_output=True)
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    keys = [(r["agent"], r["seed"], r["queries"]) for r in records]
    assert len(keys) == len(set(keys)) == 24, "every evaluation (after 1, 2, 4, 6, 8, 10 batches) written once"
    assert (killed / "summary.json").read_bytes() == (tmp_path / "whole" / "summary.json").read_bytes()


SWEEP = [
    "sweep",
    "--env",
    "LinearDuel-v0",
    "--quick",
    "--agents",
    "passive,dts",
    "--grid",
    '{"theta_norm": [0.5, 2.0]}',
]


def plain_run_summary(tmp_path: Path, theta_norm: float) -> bytes:
    out = tmp_path / f"plain-{theta_norm}"
    main([*QUICK_LINEAR[:-1], "passive,dts", "--env-kwargs", json.dumps({"theta_norm": theta_norm}), "--out", str(out)])
    return (out / "summary.json").read_bytes()


def test_sweep_in_processes_lands_in_the_run_format_with_the_same_results(tmp_path: Path) -> None:
    main([*SWEEP, "--backend", "processes", "--out", str(tmp_path / "sweep")])
    for theta_norm in (0.5, 2.0):
        point = tmp_path / "sweep" / f"theta_norm={theta_norm}"
        check_outputs(point, "simple_regret", {"passive", "dts"})
        assert json.loads((point / "config.json").read_text())["env_kwargs"] == {"theta_norm": theta_norm}
        assert (point / "summary.json").read_bytes() == plain_run_summary(tmp_path, theta_norm)


@pytest.mark.slow
def test_sweep_on_a_local_ray_instance_gives_the_same_results(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    main([*SWEEP, "--backend", "ray", "--out", str(tmp_path / "ray")])
    assert (tmp_path / "ray" / "theta_norm=0.5" / "summary.json").read_bytes() == plain_run_summary(tmp_path, 0.5)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["sweep", "--env", "LinearDuel-v0", "--quick"], "a sweep needs --agents"),
        (
            ["sweep", "--env", "LinearDuel-v0", "--agents", "dts", "--grid", '{"dim": 3}'],
            r"grid\['dim'\] must be a non-empty list",
        ),
    ],
)
def test_bad_sweeps_are_reported(tmp_path: Path, arguments: list, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        main([*arguments, "--out", str(tmp_path / "s")])


def test_evaluations_can_also_go_to_stable_baselines3_csv_logs(tmp_path: Path) -> None:
    main([*QUICK_LINEAR, "--log-format", "csv", "--out", str(tmp_path / "a")])
    header = (tmp_path / "a" / "logs" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "dts/seed1/simple_regret" in header and "passive/seed0/cumulative_regret" in header
    with pytest.raises(SystemExit, match="--log-format takes csv and tensorboard, got json"):
        main([*QUICK_LINEAR, "--log-format", "json", "--out", str(tmp_path / "b")])


def test_resuming_a_run_written_by_another_version_warns(tmp_path: Path, capsys) -> None:
    run(tmp_path / "a")
    config_path = tmp_path / "a" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "version": "0.0.1"}))
    capsys.readouterr()
    run(tmp_path / "a")
    assert "written by duelgym 0.0.1" in capsys.readouterr().out
