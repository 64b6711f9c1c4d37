"""The example scripts run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_prints_a_regret_summary() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--batches", "5", "--batch-size", "8"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "40 queries" in result.stdout
    assert "mean strong regret per query" in result.stdout
    assert "cumulative strong regret" in result.stdout


def test_custom_agent_example_runs_against_dts() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_agent.py")], capture_output=True, text=True, check=True
    )
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["greedy-vs-random", "dts"]
    assert all("cumulative strong regret" in line for line in lines)


def test_custom_rater_and_local_hugging_face_model_examples_run() -> None:
    rater = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_rater.py")], capture_output=True, text=True, check=True
    )
    assert rater.stdout.count("p_first") == 3
    hf = subprocess.run([sys.executable, str(EXAMPLES / "hf_model.py")], capture_output=True, text=True, check=True)
    assert hf.stdout.count("rater chose first") == 3 and "served:" in hf.stdout


def test_sweep_example_runs(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "sweep.py"), "--out", str(tmp_path / "sweep")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.count("cumulative regret {") == 3
