"""Mutation testing of the modules whose logic the fast tests must pin down (``make mutation``; not part of CI).

    python tools/mutation.py [--modules duelgym/evaluation.py,agents/dts.py] [--timeout 120]

For each module (the evaluation, the oracle, the agents and the reward models), cosmic-ray mutates the source file
in place one mutation at a time (operators replaced, comparisons flipped, constants changed, ...), runs that
module's fast tests (``TESTS`` below) and restores the file. A mutant is *killed* when a test fails, *survives* when
every test still passes. The script prints the share killed per module and lists every survivor with its line, so a
reader can judge whether it is an equivalent mutant (same behaviour, e.g. ``>=`` for ``>`` on values that are never
equal) or a missing test.

Run it on a clean checkout: the files are mutated on disk while it runs (cosmic-ray restores each one), so do not
edit or test the same tree meanwhile. Sessions are kept in ``.mutation/`` (one SQLite file per module); rerunning
resumes them, ``--fresh`` starts over."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Module -> the fast tests that cover it (the test command stops at the first failure).
TESTS = {
    "duelgym/evaluation.py": ["tests/test_evaluation.py"],
    # HuggingFaceRater's batching is checked in test_llm_env.py (against one text at a time, with a tiny GPT-2).
    "duelgym/oracle.py": [
        "tests/test_oracle.py",
        "tests/test_llm_env.py::test_hugging_face_rater_gives_the_same_p_first_batched_as_one_pair_at_a_time",
    ],
    **{
        f"agents/reward_models/{name}.py": ["tests/test_reward_models.py"]
        for name in ("metrics", "enn", "point", "laplace", "training", "networks")
    },
    **{
        f"agents/{name}.py": ["tests/test_agents.py", "tests/test_agent_rules.py"]
        for name in ("bai_ts", "boltzmann", "candidates", "dts", "ids", "infomax", "multiset", "passive",
                     "registry", "uncertainty")
    },
    # The linear dueling-bandit baselines. agents/base.py is left out: it holds only the Agent and RewardModel
    # protocols (signatures and docstrings, no logic to mutate).
    # The online RLHF update rule, pairs and schedules (the runner's tests also exercise the schedules).
    "agents/online.py": ["tests/test_online_rule.py", "tests/test_online_runner.py"],
    **{
        f"agents/{name}.py": ["tests/test_linear_baselines.py", "tests/test_agents.py"]
        for name in ("colstim", "linear_confidence", "maxinp", "maxpairucb")
    },
}  # fmt: skip

CONFIG = """[cosmic-ray]
module-path = "{module}"
timeout = {timeout}
excluded-modules = []
test-command = "{python} -m pytest -x -q -p no:cacheprovider {tests}"

[cosmic-ray.distributor]
name = "local"

# `|` in these modules is almost only the union of type hints, never evaluated (`from __future__ import
# annotations`): mutating it gives equivalent mutants by the hundred. The one real use, the mask of
# oracle.check_probabilities, is covered by tests/test_oracle.py's rejection tests.
[cosmic-ray.filters.operators-filter]
exclude-operators = ["core/ReplaceBinaryOperator_BitOr_.*"]
"""


def run_module(module: str, timeout: float, fresh: bool) -> tuple[int, int, list[str]]:
    """Mutate ``module``; returns (killed, total, survivor descriptions)."""
    sessions = ROOT / ".mutation"
    sessions.mkdir(exist_ok=True)
    stem = module.replace("/", "_").removesuffix(".py")
    config, session = sessions / f"{stem}.toml", sessions / f"{stem}.sqlite"
    config.write_text(
        CONFIG.format(module=module, timeout=timeout, python=sys.executable, tests=" ".join(TESTS[module]))
    )
    if fresh or not session.exists():
        session.unlink(missing_ok=True)
        subprocess.run(["cosmic-ray", "init", str(config), str(session)], cwd=ROOT, check=True)
        subprocess.run(["cr-filter-operators", str(session), str(config)], cwd=ROOT, check=True)
    subprocess.run(["cosmic-ray", "exec", str(config), str(session)], cwd=ROOT, check=True)
    dump = subprocess.run(["cosmic-ray", "dump", str(session)], cwd=ROOT, check=True, capture_output=True, text=True)
    killed, total, survivors = 0, 0, []
    for line in dump.stdout.splitlines():
        item, result = json.loads(line)
        if result is None or result.get("worker_outcome") == "skipped" or result.get("test_outcome") == "incompetent":
            continue  # not run yet, filtered out, or a mutant that does not even import: not a test of the tests
        total += 1
        if result["test_outcome"] == "killed":
            killed += 1
        else:
            for mutation in item["mutations"]:
                survivors.append(
                    f"{module}:{mutation['start_pos'][0]} {mutation['operator_name']} #{mutation['occurrence']}"
                )
    return killed, total, survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", default=",".join(TESTS), help="comma list of modules (default: all of TESTS)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant's test run")
    parser.add_argument("--fresh", action="store_true", help="discard earlier sessions")
    args = parser.parse_args()
    if shutil.which("cosmic-ray") is None:
        sys.exit("cosmic-ray is not installed: pip install cosmic-ray (make mutation does it)")
    modules = [m for m in args.modules.split(",") if m]
    unknown = [m for m in modules if m not in TESTS]
    if unknown:
        sys.exit(f"no tests are listed for {', '.join(unknown)}; known modules: {', '.join(TESTS)}")
    rows = []
    for module in modules:
        killed, total, survivors = run_module(module, args.timeout, args.fresh)
        rows.append((module, killed, total))
        for survivor in survivors:
            print("survived:", survivor)
    print(f"\n{'module':<28}{'killed':>8}{'mutants':>9}{'share':>8}")
    for module, killed, total in rows:
        print(f"{module:<28}{killed:>8}{total:>9}{killed / max(total, 1):>8.0%}")


if __name__ == "__main__":
    main()
