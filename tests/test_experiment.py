"""The `duelgym run` and `duelgym report` commands: outputs, schema, determinism, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import kill_after_lines

from duelgym.experiment import QUICK, RunConfig
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


def test_evaluations_are_dense_early_then_evenly_spread_on_a_log_axis() -> None:
    config = RunConfig(queries=320, batch_size=32, dense_queries=128, eval_every=2, agent_queries={"passive": 1280})
    assert [b for b in range(1, 11) if config.evaluates_at(b, "dts")] == [1, 2, 3, 4, 6, 8, 10]
    passive = [b for b in range(1, 41) if config.evaluates_at(b, "passive")]
    # Every 2nd batch up to twice `queries` (20 batches), then every 4th: the spacing doubles with the queries.
    assert passive == [1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 36, 40]
    assert config.num_batches("passive") == 40 and config.num_batches("dts") == 10
    assert RunConfig().queries_of("passive") == RunConfig().queries_of("passive-enn") == 51200
    assert RunConfig().queries_of("dts") == 6400


def test_the_learnable_ceiling_applies_only_where_it_was_measured() -> None:
    from duelgym.experiment.kinds import LEARNABLE_CEILING, LLMExperiment, SyntheticExperiment

    assert LLMExperiment.learnable_ceiling(RunConfig()) == LEARNABLE_CEILING == 0.919
    assert LLMExperiment.learnable_ceiling(RunConfig(env_kwargs={"temperature": 1.0})) == LEARNABLE_CEILING
    for other in ({"env_kwargs": {"prompts": ["sort 1 2"]}}, {"num_candidates": 16}, {"eval_prompts": 50}):
        assert LLMExperiment.learnable_ceiling(RunConfig(**other)) is None, other
    assert SyntheticExperiment.learnable_ceiling(RunConfig(env="LinearDuel-v0")) is None


def test_the_baselines_budget_follows_the_command_line() -> None:
    from duelgym.experiment.cli import build_parser, config_from

    def config(*arguments: str) -> RunConfig:
        return config_from(build_parser().parse_args(["run", *arguments]))

    assert config().queries_of("passive") == config().queries_of("passive-enn") == 51200
    assert config("--queries", "640").queries_of("passive") == 640  # --queries alone: every agent the same
    both = config("--queries", "640", "--baseline-queries", "3200")
    assert both.queries_of("passive-enn") == 3200 and both.queries_of("dts") == 640
    with pytest.raises(ValueError, match=r"agent_queries\['passive'\] must be a multiple of batch_size=32, got 100"):
        config("--baseline-queries", "100")


def test_quick_trains_on_fewer_llm_prompts_only_when_no_env_kwargs_are_given() -> None:
    from duelgym.experiment.cli import build_parser, config_from

    def config(*arguments: str) -> RunConfig:
        return config_from(build_parser().parse_args(["run", *arguments]))

    assert config("--quick").env_kwargs == {"num_prompts": 640}
    assert config("--quick", "--env", "duelgym/LLMDuel-v0").env_kwargs == {"num_prompts": 640}
    assert config().env_kwargs == {}  # the full run keeps the env's 2,000
    assert config("--quick", "--env-kwargs", '{"temperature": 1.0}').env_kwargs == {"temperature": 1.0}
    assert config("--quick", "--env", "LinearDuel-v0").env_kwargs == {}  # an LLM-only keyword


def test_same_seed_same_summary_in_parallel_processes_or_one(tmp_path: Path) -> None:
    assert (tmp_path / "a").exists() is False
    run(tmp_path / "a")  # two worker processes (the default)
    run(tmp_path / "b")
    run(tmp_path / "c", "--jobs", "1")
    run(tmp_path / "d", "--jobs", "3")
    summary = (tmp_path / "a" / "summary.json").read_bytes()
    lines = sorted((tmp_path / "a" / "metrics.jsonl").read_text().splitlines())
    for other in "bcd":
        assert (tmp_path / other / "summary.json").read_bytes() == summary
        assert sorted((tmp_path / other / "metrics.jsonl").read_text().splitlines()) == lines
    # The seeds matter (so equal summaries are not a constant).
    run(tmp_path / "e", "--seeds", "2,3")
    assert (tmp_path / "e" / "summary.json").read_bytes() != summary


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
        (
            ["--env", "LinearDuel-v0", "--env-kwargs", '{"dim": 0}'],
            "LinearDuel-v0 cannot be built with env_kwargs {'dim': 0}: dim must be >= 1",
        ),
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
    with pytest.raises(SystemExit, match="--device cuda: device 'cuda' is not available"):
        main([*QUICK_LINEAR, "--device", "cuda", "--out", str(tmp_path / "x")])


def test_an_unwritable_results_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # unwritable as a directory even for root
    with pytest.raises(SystemExit, match="cannot write the results directory"):
        main([*QUICK_LINEAR, "--out", str(blocker / "run")])


def test_a_config_change_on_resume_is_refused_with_the_fields_named(tmp_path: Path) -> None:
    run(tmp_path / "a")
    differ = r"holds a run of another config \(fields that differ: agent_queries, eval_every, queries\)"
    with pytest.raises(SystemExit, match=differ):
        run(tmp_path / "a", "--queries", "640", "--eval-every", "4")


def test_rerunning_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    summary = run(tmp_path / "a")
    lines = (tmp_path / "a" / "metrics.jsonl").read_text()
    assert run(tmp_path / "a") == summary
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == lines


@pytest.mark.slow
def test_a_run_killed_at_several_points_resumes_to_the_same_summary(tmp_path: Path) -> None:
    # Two worker processes (the default), a checkpoint at every evaluation.
    arguments = [sys.executable, "-m", "duelgym.experiment.cli", *QUICK_LINEAR[:-1], "passive,dts",
                 "--checkpoint-seconds", "0"]  # fmt: skip
    subprocess.run([*arguments, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    killed = tmp_path / "killed"
    metrics = killed / "metrics.jsonl"
    counts = []
    for lines_before_kill in (1, 7, 15):
        kill_after_lines([*arguments, "--out", str(killed)], metrics, lines_before_kill)
        time.sleep(1.5)  # the orphaned workers notice within a second and exit
        lines = metrics.read_text().splitlines()
        counts.append(len(lines))
        for line in lines:
            json.loads(line)  # never a partial line
    quick = RunConfig(env="LinearDuel-v0", **QUICK)
    expected = 2 * sum(quick.evaluates_at(b, a) for a in ("passive", "dts") for b in range(1, quick.num_batches(a) + 1))
    assert counts[0] < expected and counts == sorted(counts), f"the kills must land mid-run: {counts}"
    subprocess.run([*arguments, "--out", str(killed)], check=True, capture_output=True)
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    keys = [(r["agent"], r["seed"], r["queries"]) for r in records]
    assert len(keys) == len(set(keys)) == expected, "every evaluation written once"
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


# --- The runner and CLI never change the experiment behind the user's back -------------------------------------


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--seeds", "1,1"], r"seeds must not repeat: 1 appear"),
        (["--agents", "passive,passive"], r"agents must not repeat: passive appear"),
        (["--agents", "passive,dts", "--reward-model", "point"], r"agent 'dts' cannot run as asked on LinearDuel-v0: "
         r"DoubleThompsonAgent compares posterior samples and needs a reward model with at least 2 particles"),
        (["--agents", "dts", "--reward-model", "enn", "--num-particles", "1"], r"agent 'dts' cannot run as asked"),
        (["--agents", "laplace-dts", "--reward-model", "enn"], r"'laplace-dts' fixes reward_model='laplace'"),
        (["--agents", "infomax", "--num-particles", "3"], r"--num-particles 3 applies to --reward-model enn only"),
        (["--env-kwargs", '{"split": "eval"}'], r"env_kwargs must not set split \(got split='eval'\)"),
    ],
)  # fmt: skip
def test_a_run_that_cannot_run_as_asked_is_refused_and_writes_nothing(
    tmp_path: Path, arguments: list, message: str
) -> None:
    out = tmp_path / "x"
    with pytest.raises(SystemExit, match=f"error: .*{message}"):
        main(["run", "--env", "LinearDuel-v0", "--quick", "--out", str(out), *arguments])
    assert not out.exists()


def test_the_corrected_command_runs_in_the_directory_of_a_refused_one(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="agent 'dts' cannot run as asked"):
        main([*QUICK_LINEAR[:-1], "passive,dts", "--reward-model", "point", "--out", str(tmp_path / "a")])
    main([*QUICK_LINEAR[:-1], "passive,dts", "--out", str(tmp_path / "a")])
    assert set(json.loads((tmp_path / "a" / "summary.json").read_text())["agents"]) == {"passive", "dts"}


def test_the_default_agent_list_leaves_out_what_cannot_run_and_records_why(tmp_path: Path, monkeypatch, capsys) -> None:
    import duelgym.agents

    monkeypatch.setattr(duelgym.agents, "list_agents", lambda: ["dts", "laplace-dts", "passive"])
    out = tmp_path / "a"
    main(["run", "--env", "LinearDuel-v0", "--quick", "--reward-model", "point", "--out", str(out)])
    left_out = json.loads((out / "config.json").read_text())["left_out"]
    assert set(left_out) == {"dts", "laplace-dts"}
    assert "needs a reward model with at least 2 particles" in left_out["dts"]
    assert "fixes reward_model='laplace'" in left_out["laplace-dts"]
    assert "left out dts:" in capsys.readouterr().out
    assert set(json.loads((out / "summary.json").read_text())["agents"]) == {"passive"}
    main(["run", "--env", "LinearDuel-v0", "--quick", "--reward-model", "point", "--out", str(out)])  # resumes


def test_a_bug_inside_the_library_shows_its_traceback(tmp_path: Path, monkeypatch) -> None:
    from duelgym.agents.dts import DoubleThompsonAgent

    def broken(self, features):
        raise TypeError("a bug in pairs")

    monkeypatch.setattr(DoubleThompsonAgent, "pairs", broken)
    with pytest.raises(TypeError, match="a bug in pairs"):
        main([*QUICK_LINEAR, "--out", str(tmp_path / "a")])


def test_user_prompts_are_split_deterministically_into_disjoint_train_and_eval_prompts() -> None:
    from duelgym.experiment.config import ConfigError
    from duelgym.experiment.kinds import split_prompts

    prompts = [f"prompt {i}" for i in range(20)] + ["prompt 3"]
    train, held_out = split_prompts(prompts, 5)
    assert (train, held_out) == split_prompts(prompts, 5)
    assert len(held_out) == 5 and not set(train) & set(held_out)
    assert set(train) | set(held_out) == set(prompts)
    assert [p for p in prompts if p in set(train)] == train  # the user's order and repeats kept
    with pytest.raises(ConfigError, match="3 distinct prompts cannot be split into eval_prompts=3"):
        split_prompts(["a", "b", "c", "a"], 3)


# --- Resume is safe ---------------------------------------------------------------------------------------------


#: --quick on LinearDuel-v0: passive (1,280 queries) evaluates 17 times per seed and runs first, dts (320) 7 times.
PASSIVE_RESULTS = 17


def interrupted_run(out: Path, agents: tuple[str, ...] = ("passive", "dts"), results: int = 2 * PASSIVE_RESULTS + 2):
    """The first ``results`` results of a QUICK_LINEAR-like run with ``agents`` (one process, a checkpoint at every
    evaluation), then a stop (as a kill would). By default: passive finished, dts seed 0 after 2 of 10 batches."""
    from duelgym.experiment import ResultsStore, run_all

    config = RunConfig(env="LinearDuel-v0", agents=agents, **QUICK)
    store = ResultsStore.open(out, config)
    for count, result in enumerate(run_all(config, store=store, checkpoint_seconds=0), start=1):
        store.append(result.record("simple_regret"))
        if count == results:
            break


def test_a_run_stopped_mid_way_resumes_to_the_summary_of_an_uninterrupted_one(tmp_path: Path) -> None:
    interrupted_run(tmp_path / "b")  # passive finished, dts seed 0 after 2 of 10 batches
    assert {p.name for p in (tmp_path / "b" / "checkpoints").iterdir()} == {"dts-seed0.pt"}
    arguments = [*QUICK_LINEAR[:-1], "passive,dts"]
    main([*arguments, "--out", str(tmp_path / "b")])
    main([*arguments, "--out", str(tmp_path / "a")])
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    assert not list((tmp_path / "b" / "checkpoints").iterdir())


def resume_fails(out: Path, message: str) -> None:
    before = files_of(out)
    with pytest.raises(SystemExit, match=message):
        main([*QUICK_LINEAR[:-1], "passive,dts", "--out", str(out)])
    assert files_of(out) == before, "a refused resume must leave every file as it was"


def test_a_checkpoint_renamed_to_another_agent_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "a"
    interrupted_run(out, results=3)  # passive seed 0 half-way
    checkpoints = out / "checkpoints"
    (checkpoints / "passive-seed0.pt").rename(checkpoints / "passive-seed1.pt")
    resume_fails(out, r"checkpoint .*passive-seed1.pt belongs to agent='passive', seed=0, not to the run its name says")
    (checkpoints / "passive-seed1.pt").rename(checkpoints / "dts-seed0.pt")
    resume_fails(out, r"dts-seed0.pt belongs to agent='passive', seed=0")


def test_a_checkpoint_of_another_config_is_refused(tmp_path: Path) -> None:
    interrupted_run(tmp_path / "a", results=3)
    interrupted_run(tmp_path / "b", agents=("passive",), results=3)
    (tmp_path / "a" / "checkpoints" / "passive-seed0.pt").write_bytes(
        (tmp_path / "b" / "checkpoints" / "passive-seed0.pt").read_bytes()
    )
    resume_fails(tmp_path / "a", r"passive-seed0.pt belongs to config='[0-9a-f]+', not config='[0-9a-f]+'")


class _Payload:
    """Unpickling this object would create a marker file: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_on_load_is_never_unpickled(tmp_path: Path) -> None:
    import torch

    out = tmp_path / "a"
    interrupted_run(out, results=3)
    marker = tmp_path / "code-ran"
    torch.save({"header": "{}", "state": _Payload(marker)}, out / "checkpoints" / "passive-seed0.pt")
    resume_fails(out, r"passive-seed0.pt cannot be read safely")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("config.json", r"config.json is corrupted"),
        ("metrics.jsonl", rf"metrics.jsonl ends in an incomplete line {2 * PASSIVE_RESULTS + 2}"),
        ("checkpoints/dts-seed0.pt", r"dts-seed0.pt cannot be read safely \(truncated, corrupted"),
    ],
)
def test_a_truncated_results_file_is_reported_by_name_and_left_as_it_is(
    tmp_path: Path, name: str, message: str
) -> None:
    out = tmp_path / "a"
    interrupted_run(out)
    path = out / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) - 20])
    resume_fails(out, message)


def test_a_corrupted_metrics_line_is_reported_with_its_number(tmp_path: Path) -> None:
    out = tmp_path / "a"
    interrupted_run(out)
    lines = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    lines[2] = '{"agent": "passive", "se\n'
    (out / "metrics.jsonl").write_text("".join(lines))
    resume_fails(out, r"metrics.jsonl line 3 is not a metrics record")
    with pytest.raises(SystemExit, match=r"metrics.jsonl line 3 is not a metrics record"):
        main(["report", str(out)])


def test_metrics_that_vanished_or_lost_lines_mid_run_are_detected(tmp_path: Path) -> None:
    out = tmp_path / "a"
    interrupted_run(out)
    lines = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    (out / "metrics.jsonl").write_text("".join(lines[:-2]))  # dts seed 0's first two results lost
    resume_fails(out, r"metrics.jsonl lacks 1 result\(s\) of dts seed 0 that were written before its checkpoint")
    (out / "metrics.jsonl").unlink()
    resume_fails(out, r"metrics.jsonl is missing from a results directory that has a config.json")


def test_state_round_trips_through_a_weights_only_checkpoint(tmp_path: Path) -> None:
    """An agent and env rebuilt from their config and restored from a checkpoint continue exactly as the original."""
    import numpy as np

    import duelgym
    from duelgym.experiment.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
    from duelgym.experiment.config import ConfigError, RunConfig
    from duelgym.experiment.state import StateMismatch, extract_state, restore_state

    def build(name: str):
        env = duelgym.make_vec("LinearDuel-v0", num_envs=8)
        obs, _ = env.reset(seed=3)
        return env, obs, duelgym.agents.make(name, env, seed=3)

    def steps(env, obs, agent, count: int):
        pairs = []
        for _ in range(count):
            chosen = agent.select(obs)
            next_obs, reward, *_ = env.step(chosen)
            agent.observe(obs, chosen, reward)
            obs = next_obs
            pairs.append(chosen)
        return obs, np.stack(pairs)

    config = RunConfig(env="LinearDuel-v0")
    for name in ("dts", "laplace-dts", "multiset", "boltzmann"):
        env, obs, agent = build(name)
        obs, _ = steps(env, obs, agent, 3)
        path = tmp_path / f"{name}.pt"
        state = {"agent": extract_state(agent), "env": extract_state(env), "obs": extract_state(obs)}
        save_checkpoint(path, {"version": "0.1.0", "agent": name, "seed": 3, "config": "x", "batch": 3}, state)
        with pytest.raises(ConfigError, match=rf"{name}.pt belongs to .*config='x'"):
            load_checkpoint(path, name, 3, config)
        header, saved = read_checkpoint(path)
        assert header["batch"] == 3 and header["version"] == "0.1.0"
        fresh_env, _, fresh_agent = build(name)
        restore_state(fresh_agent, saved["agent"])
        restore_state(fresh_env, saved["env"])
        fresh_obs = restore_state({"arms": None}, saved["obs"])
        _, expected = steps(env, obs, agent, 4)
        _, resumed = steps(fresh_env, fresh_obs, fresh_agent, 4)
        np.testing.assert_array_equal(resumed, expected, err_msg=name)
    _, _, passive = build("passive")
    with pytest.raises(StateMismatch, match=r"the saved state holds .*BoltzmannAgent, but the run has .*PassiveAgent"):
        restore_state(passive, saved["agent"], "agent")


# --- The analysis ---------------------------------------------------------------------------------------------


def constructed_records() -> list[dict]:
    curves = {"passive": [1.0, 0.8, 0.6, 0.5], "fast": [0.9, 0.5, 0.4, 0.3], "slow": [0.9, 0.9, 0.8, 0.7]}
    return [
        {"agent": agent, "seed": seed, "queries": q, "metric": "simple_regret", "value": v + 0.01 * seed,
         "cumulative_regret": 10.0 * q}
        for agent, values in curves.items()
        for seed in (1, 0)
        for q, v in zip((100, 200, 400, 800), values, strict=True)
    ]  # fmt: skip


def win_rate_records(noise: float = 0.0) -> list[dict]:
    """Win-rate curves rising linearly to a plateau: fast at 1,000 queries, passive-enn at 4,000, passive at 10,000
    (capped at 0.74), slow at 0.7 (never reaching 0.725); 5 seeds, each shifted by ``noise`` x (seed - 2)."""
    shapes = {"fast": (1000, 0.8), "passive-enn": (4000, 0.8), "passive": (10000, 0.74), "slow": (2000, 0.7)}
    records = []
    for agent, (plateau_at, top) in shapes.items():
        for seed in range(5):
            for q in range(100, 10001, 100):
                value = min(top, 0.5 + 0.3 * min(1.0, q / plateau_at)) + noise * (seed - 2)
                records.append({"agent": agent, "seed": seed, "queries": q, "metric": "win_rate", "value": value})
    return records


def test_the_headline_reaches_fixed_targets_and_compares_with_both_baselines() -> None:
    from duelgym.experiment.report import summarize, summary_markdown

    summary = summarize(win_rate_records(), "win_rate", True, ceiling=0.8)
    assert [t["value"] for t in summary["targets"]] == pytest.approx([0.65, 0.725, 0.77])
    fast = summary["agents"]["fast"]["targets"]
    # 0.65 is reached at q = 500 by fast, 2,000 by passive-enn and 5,000 by passive: 10x and 4x, exactly.
    assert fast[0]["queries"] == pytest.approx(500) and fast[0]["queries_interval"] == pytest.approx([500, 500])
    assert fast[0]["multipliers"]["passive"]["value"] == pytest.approx(10.0)
    assert fast[0]["multipliers"]["passive"]["interval"] == pytest.approx([10.0, 10.0])
    assert fast[0]["multipliers"]["passive-enn"]["value"] == pytest.approx(4.0)
    # 0.77: passive never gets there in its 10,000 queries, so the multiplier is only a bound: > 10,000 / 900.
    beyond = fast[2]["multipliers"]["passive"]
    assert beyond["value"] is None and beyond["at_least"] == pytest.approx(10000 / 900)
    assert fast[2]["multipliers"]["passive-enn"]["value"] == pytest.approx(3600 / 900)
    slow = summary["agents"]["slow"]["targets"]
    assert slow[1]["queries"] is None and slow[1]["multipliers"]["passive"]["value"] is None
    assert slow[1]["multipliers"]["passive"]["at_least"] is None  # neither reached: no bound either
    text = summary_markdown(summary)
    assert "> 11.1x (baseline not reached)" in text and "10.0x [10.0, 10.0]" in text and "not reached" in text


def test_the_headline_intervals_come_from_resampled_seeds() -> None:
    from duelgym.experiment.report import summarize

    summary = summarize(win_rate_records(noise=0.01), "win_rate", True, ceiling=0.8)
    reached = summary["agents"]["fast"]["targets"][0]
    low, high = reached["queries_interval"]
    assert low < reached["queries"] < high  # seeds differ, so the resampled crossings spread around the mean's
    low, high = reached["multipliers"]["passive"]["interval"]
    assert low < reached["multipliers"]["passive"]["value"] < high
    assert summarize(win_rate_records(noise=0.01), "win_rate", True, ceiling=0.8) == summary  # seeded bootstrap
    assert "targets" not in summarize(win_rate_records(), "win_rate", True)  # no ceiling, no fixed targets
    partial = [r for r in win_rate_records() if not (r["agent"] == "fast" and r["seed"] == 4)]
    assert "targets" not in summarize(partial, "win_rate", True, ceiling=0.8)  # unpaired seeds: no headline yet


def test_summary_multiplier_is_passive_queries_over_the_agents() -> None:
    from duelgym.experiment.report import summarize

    summary = summarize(constructed_records(), "simple_regret", higher_is_better=False)
    assert summary["target"] == pytest.approx(0.505)
    agents = summary["agents"]
    assert agents["passive"]["queries_to_target"] == pytest.approx(800.0) and agents["passive"]["multiplier"] == 1.0
    assert agents["fast"]["queries_to_target"] == pytest.approx(200.0)
    assert agents["fast"]["multiplier"] == pytest.approx(4.0)  # 4x fewer queries than passive: 4.0, not 0.25
    assert agents["slow"]["queries_to_target"] is None and agents["slow"]["multiplier"] is None
    assert agents["fast"]["final_mean"] == pytest.approx(0.305)
    assert agents["fast"]["final_stderr"] == pytest.approx(0.005)
    assert agents["fast"]["cumulative_regret_mean"] == pytest.approx(8000.0)
    no_passive = summarize([r for r in constructed_records() if r["agent"] != "passive"], "simple_regret", False)
    assert no_passive["target"] is None and no_passive["agents"]["fast"]["multiplier"] is None


def test_curves_align_seeds_in_ascending_order_on_shared_queries(tmp_path: Path) -> None:
    from duelgym.experiment.report import curves, plot, summarize

    records = [*constructed_records(), {"agent": "fast", "seed": 0, "queries": 1600, "value": 0.1}]
    queries, values = curves(records)["fast"]
    assert queries.tolist() == [100, 200, 400, 800]
    assert values[:, -1].tolist() == pytest.approx([0.3, 0.31])
    assert curves(records, "cumulative_regret")["slow"][1].shape == (2, 4)
    plot(records, summarize(records, "simple_regret", False), tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_llm_win_rate_is_evaluation_win_rate_and_checks_the_rater(tmp_path: Path) -> None:
    import numpy as np

    import duelgym
    from duelgym.evaluation import win_rate
    from duelgym.experiment import RunConfig
    from duelgym.experiment.kinds import LLMExperiment

    config = RunConfig(env="LLMDuel-v0", eval_prompts=6, num_candidates=4, queries=64)
    experiment = LLMExperiment(config, "cpu")
    trial = experiment.start(0)
    agent = duelgym.agents.make("passive", trial.env, seed=0)
    served = agent.respond({"arms": experiment.eval_features})
    expected = win_rate(
        lambda prompts: [experiment.eval_texts[i][s] for i, s in enumerate(served)],
        experiment.eval_env,
        baseline=experiment.greedy,
    )
    assert trial.evaluate(agent) == pytest.approx(expected.mean, abs=1e-12)
    assert not set(experiment.eval_env.unwrapped.prompts) & set(trial.env.unwrapped.prompts)
    # Noisier feedback changes what agents learn, never how they are scored: the same eval win matrix.
    noisy = LLMExperiment(RunConfig(env="LLMDuel-v0", env_kwargs={"temperature": 1.0}, eval_prompts=6,
                                    num_candidates=4, queries=64), "cpu")  # fmt: skip
    np.testing.assert_array_equal(noisy.wins, experiment.wins)
    assert 0 < np.abs(noisy.wins - 0.5).max()  # not a matrix of ties, which any rater would leave unchanged

    prompts = [f"sort 31{i}" for i in range(10)]
    bad = {"prompts": prompts, "rater": lambda contexts, first, second: np.full(len(first), 1.5)}
    with pytest.raises(ValueError, match=r"the rater returned p_first=.*1\.5.* expected probabilities in \[0, 1\]"):
        LLMExperiment(RunConfig(env="LLMDuel-v0", env_kwargs=bad, eval_prompts=4, num_candidates=4), "cpu")
    good = {"prompts": prompts, "rater": lambda contexts, first, second: np.full(len(first), 0.5)}
    split = LLMExperiment(RunConfig(env="LLMDuel-v0", env_kwargs=good, eval_prompts=4, num_candidates=4), "cpu")
    assert len(split.eval_env.unwrapped.prompts) == 4 and "held out for evaluation" in split.notes[0]
    assert sorted(split.eval_env.unwrapped.prompts + split.probe_env().unwrapped.prompts) == sorted(prompts)


@pytest.mark.slow
def test_the_llm_setup_gives_the_same_features_whatever_the_callers_thread_count_and_jobs() -> None:
    import numpy as np
    import torch

    from duelgym.experiment.runner import plan

    config = RunConfig(env="LLMDuel-v0", eval_prompts=20, num_candidates=16, queries=64, agents=("passive",))
    setups = []
    threads = torch.get_num_threads()
    try:
        for count, jobs in ((2, 1), (1, 1), (1, 2)):
            torch.set_num_threads(count)
            experiment = plan(config, jobs).experiment
            setups.append((experiment.eval_features, experiment.wins, experiment.eval_texts))
    finally:
        torch.set_num_threads(threads)
    for features, wins, texts in setups[1:]:  # 2 threads change the last bits without one thread
        np.testing.assert_array_equal(features, setups[0][0])
        np.testing.assert_array_equal(wins, setups[0][1])
        assert texts == setups[0][2]


def test_state_of_generators_sets_scalars_and_text_round_trips_and_unsaveable_values_are_named() -> None:
    import io
    import random

    import numpy as np
    import torch

    from duelgym.experiment.state import StateMismatch, extract_state, restore_state

    class Holder:
        def __init__(self, seed: int) -> None:
            self.python = random.Random(seed)
            self.bits = np.random.PCG64(seed)
            self.sequence = np.random.SeedSequence(7)
            self.tags = frozenset({"a"})
            self.scalar = np.float32(seed)
            self.text = np.array(["x", "yz"])
            self.shared = self.later = None

    original = Holder(1)
    original.python.random(), original.bits.random_raw(2)
    original.tags, original.shared = frozenset({"a", "b"}), [torch.ones(2)]
    original.later = original.shared
    buffer = io.BytesIO()
    torch.save(extract_state(original), buffer)
    buffer.seek(0)
    fresh = restore_state(Holder(2), torch.load(buffer, weights_only=True))
    assert fresh.python.random() == original.python.random() and fresh.bits.random_raw() == original.bits.random_raw()
    assert fresh.tags == {"a", "b"} and fresh.scalar == np.float32(1) and fresh.text.tolist() == ["x", "yz"]
    assert fresh.later is fresh.shared, "a value shared by two attributes stays shared"

    class Slotted:
        __slots__ = ("x",)

    original.shared = [Slotted()]
    with pytest.raises(TypeError, match=r"cannot save state.shared\[0\] as state: Slotted"):
        extract_state(original)
    other = Holder(1)
    other.sequence = np.random.SeedSequence(8)
    original.shared = None
    with pytest.raises(StateMismatch, match=r"state.sequence: the saved state holds seed_sequence"):
        restore_state(other, extract_state(original))


def test_a_config_that_cannot_be_stored_as_json_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from duelgym.experiment import ConfigError, ResultsStore, RunConfig

    with pytest.raises(ConfigError, match="a config stored in a results directory must be JSON"):
        ResultsStore.open(tmp_path / "a", RunConfig(env="LinearDuel-v0", env_kwargs={"rater": print}))
    assert not (tmp_path / "a").exists()


def test_config_json_records_the_machine_and_a_resume_elsewhere_says_it_will_not_match(tmp_path: Path) -> None:
    """Runs reproduce to the last digit only on a machine with the same CPU instruction set and package versions,
    so config.json records them, and resuming a run started elsewhere warns instead of silently mixing sums."""
    import torch

    from duelgym.experiment.store import ResultsStore, machine_record

    config = RunConfig(env="LinearDuel-v0", agents=("passive",), seeds=(0,), queries=64)
    store = ResultsStore.open(tmp_path, config)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["machine"] == machine_record()
    assert stored["machine"]["torch"] == torch.__version__
    assert stored["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert store.warning is None and ResultsStore.open(tmp_path, config).warning is None  # same machine: silent
    stored["machine"] = {**stored["machine"], "cpu_capability": "AVX2-elsewhere"}
    (tmp_path / "config.json").write_text(json.dumps(stored))
    warning = ResultsStore.open(tmp_path, config).warning
    assert "started on another machine" in warning and "AVX2-elsewhere" in warning
    assert "to the last digit" in warning
