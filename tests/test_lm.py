"""The LanguageModel wrapper and offline loading, on a tiny GPT-2 built and saved on the fly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from duelgym.lm import NUM_STATISTICS, load
from duelgym.lm.vocabulary import build_tokenizer

PROMPTS = ["sort 4 1 3", "rev abc", "add 12 34"]


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-lm")
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=48,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "training.json").write_text(json.dumps({"generation": {"prompt_suffix": "\n", "max_new_tokens": 12}}))
    return path


def test_loads_offline_and_generates_deterministically(tiny_model_path: Path) -> None:
    lm = load(str(tiny_model_path))
    assert lm.feature_dim == 16 + NUM_STATISTICS
    assert lm.greedy(PROMPTS) == lm.greedy(PROMPTS)
    texts, features = lm.sample_with_features(PROMPTS, 5, seed=3)
    assert len(texts) == 3 and all(len(row) == 5 for row in texts)
    assert all(isinstance(t, str) and len(t) <= 12 for row in texts for t in row)
    assert features.shape == (3, 5, lm.feature_dim) and torch.isfinite(features).all()
    again, again_features = lm.sample_with_features(PROMPTS, 5, seed=3)
    assert again == texts and torch.equal(again_features, features)
    assert lm.sample(PROMPTS, 5, seed=4) != texts


def test_embed_reproduces_the_features_of_sampling(tiny_model_path: Path) -> None:
    lm = load(str(tiny_model_path))
    texts, features = lm.sample_with_features(PROMPTS, 8, seed=0)
    flat = [t for row in texts for t in row]
    embedded = lm.embed([p for p in PROMPTS for _ in range(8)], flat)
    assert embedded.shape == (24, lm.feature_dim)
    # Samples that stopped at <eos> (shorter than the limit) are scored identically by the teacher-forced pass.
    ended = torch.tensor([len(lm.tokenizer(t).input_ids) < 12 for t in flat])
    assert ended.any()
    torch.testing.assert_close(embedded[ended], features.reshape(24, -1)[ended], atol=1e-4, rtol=1e-4)


def test_missing_models_and_bad_arguments_are_reported(tiny_model_path: Path, tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError,
        match=r"cannot load a causal LM .*tried a local directory .* and the local Hugging Face cache",
    ):
        load(str(tmp_path / "nowhere"))
    lm = load(str(tiny_model_path))
    with pytest.raises(TypeError, match="prompts must be a list of str"):
        lm.greedy("sort 1 2")
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        lm.sample(PROMPTS, 0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        lm.sample(PROMPTS, 2, temperature=0.0)
    with pytest.raises(TypeError, match="responses must be a list of 3 str"):
        lm.embed(PROMPTS, ["a", 2, "c"])


def test_the_shipped_model_loads_offline_and_knows_its_task() -> None:
    lm = load("duelgym/tiny-transforms")
    assert lm.feature_dim == 96 + NUM_STATISTICS and lm.prompt_suffix == "\n"
    prompts = ["sort 4 1 3 9", "sort 7 2 5", "rev abcd"]
    assert lm.greedy(prompts)[:2] == ["1 3 4 9", "2 5 7"]
    texts, features = lm.sample_with_features(prompts, 4, seed=1)
    assert features.shape == (3, 4, lm.feature_dim)
    assert lm.sample(prompts, 4, seed=1) == texts
    assert lm.embed(prompts, ["x", "y", "z"]).shape == (3, lm.feature_dim)
