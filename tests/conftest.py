"""Test-wide settings: no hub access, hypothesis profile, and the gpu marker's skip."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: one torch thread each (set before torch is first imported).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from hypothesis import settings

# 200 examples per property in the default run, as the foundation issue asks; no deadline because the first
# example of a run pays for imports and caches.
settings.register_profile("duelgym", max_examples=200, deadline=None)
settings.load_profile("duelgym")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised character GPT-2 (16 wide, 1 layer) saved locally: stands in for a real model."""
    import json

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from duelgym.lm.vocabulary import build_tokenizer

    path = tmp_path_factory.mktemp("tiny-lm")
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=48,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "training.json").write_text(json.dumps({"generation": {"prompt_suffix": "\n", "max_new_tokens": 12}}))
    return str(path)
