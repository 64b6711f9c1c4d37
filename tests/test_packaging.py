"""The built wheel installs duelgym.agents and duelgym.envs, and no top-level agents or envs package."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

IMPORT_CHECK = """
import importlib, pathlib, sys
import duelgym, duelgym.agents, duelgym.envs
site = pathlib.Path(sys.argv[1]).resolve()
for module in (duelgym, duelgym.agents, duelgym.envs):
    assert site in pathlib.Path(module.__file__).resolve().parents, module.__file__
for name in ("agents", "envs"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        continue
    raise AssertionError(f"a bare `import {name}` works after installing the wheel")
env = duelgym.make("LinearDuel-v0")
env.reset(seed=0)
import duelgym.lm
lm = duelgym.lm.load("duelgym/tiny-transforms")
assert site in pathlib.Path(duelgym.lm.embedded_model_path()).resolve().parents
assert len(lm.greedy(["sort 3 1 2"])) == 1
print("ok", duelgym.__version__, duelgym.list_envs())
"""


@pytest.mark.slow
def test_wheel_installs_duelgym_agents_and_no_top_level_agents(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("duelgym-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "duelgym/agents/__init__.py" in names and "duelgym/envs/linear.py" in names
    assert "duelgym/_data/tiny-transforms/model.safetensors" in names
    assert not [n for n in names if n.split("/")[0] in ("agents", "envs", "tests")]
    for requirement in ("gymnasium", "numpy", "torch", "transformers", "stable-baselines3", "rich", "matplotlib"):
        assert f"Requires-Dist: {requirement}" in metadata, requirement

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Dependencies come from the test environment's site-packages, added as a plain path: its .pth files
    # (among them the editable install of this source tree) are not processed.
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], check=True
    )
    result = subprocess.run(
        [str(python), "-c", IMPORT_CHECK, str(site)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok 0.1.0")
