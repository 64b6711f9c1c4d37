"""The LanguageModel wrapper and offline loading, on a tiny GPT-2 built and saved on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from duelgym.lm import NUM_STATISTICS, LanguageModel, load

PROMPTS = ["sort 4 1 3", "rev abc", "shift abc"]


def test_loads_offline_and_generates_deterministically(tiny_lm: str) -> None:
    lm = load(tiny_lm)
    assert lm.feature_dim == 16 + NUM_STATISTICS
    assert lm.greedy(PROMPTS) == lm.greedy(PROMPTS)
    texts, features = lm.sample_with_features(PROMPTS, 5, seed=3)
    assert len(texts) == 3 and all(len(row) == 5 for row in texts)
    assert all(isinstance(t, str) and len(t) <= 12 for row in texts for t in row)
    assert features.shape == (3, 5, lm.feature_dim) and torch.isfinite(features).all()
    again, again_features = lm.sample_with_features(PROMPTS, 5, seed=3)
    assert again == texts and torch.equal(again_features, features)
    assert lm.sample(PROMPTS, 5, seed=4) != texts


def test_embed_reproduces_the_features_of_sampling(tiny_lm: str) -> None:
    lm = load(tiny_lm)
    texts, features = lm.sample_with_features(PROMPTS, 8, seed=0)
    flat = [t for row in texts for t in row]
    embedded = lm.embed([p for p in PROMPTS for _ in range(8)], flat)
    assert embedded.shape == (24, lm.feature_dim)
    # Samples that stopped at <eos> (shorter than the limit) are scored identically by the teacher-forced pass.
    ended = torch.tensor([len(lm.tokenizer(t).input_ids) < 12 for t in flat])
    assert ended.any()
    torch.testing.assert_close(embedded[ended], features.reshape(24, -1)[ended], atol=1e-4, rtol=1e-4)


def test_missing_models_and_bad_arguments_are_reported(tiny_lm: str, tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError,
        match=r"cannot load a causal LM .*tried a local directory .* and the local Hugging Face cache",
    ):
        load(str(tmp_path / "nowhere"))
    lm = load(tiny_lm)
    with pytest.raises(TypeError, match="prompts must be a list of str"):
        lm.greedy("sort 1 2")
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        lm.sample(PROMPTS, 0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        lm.sample(PROMPTS, 2, temperature=0.0)
    with pytest.raises(TypeError, match="responses must be a list of 3 str"):
        lm.embed(PROMPTS, ["a", 2, "c"])
    # A str is a sequence of str: "ab" for two prompts used to embed the responses "a" and "b".
    with pytest.raises(TypeError, match=r"responses must be a list of 2 str, one per prompt, got the single str 'ab'"):
        lm.embed(PROMPTS[:2], "ab")
    tokenizer = lm.tokenizer
    tokenizer.eos_token = None
    with pytest.raises(ValueError, match="the tokenizer of 'custom' has no eos token"):
        LanguageModel(lm.model, tokenizer, "custom")


def test_the_shipped_model_loads_offline_and_knows_its_task() -> None:
    lm = load("duelgym/tiny-transforms")
    assert lm.feature_dim == 96 + NUM_STATISTICS and lm.prompt_suffix == "\n"
    prompts = ["sort 4 1 3 9", "sort 7 2 5", "rev abcd"]
    assert lm.greedy(prompts)[:2] == ["1 3 4 9", "2 5 7"]
    texts, features = lm.sample_with_features(prompts, 4, seed=1)
    assert features.shape == (3, 4, lm.feature_dim)
    assert lm.sample(prompts, 4, seed=1) == texts
    assert lm.embed(prompts, ["x", "y", "z"]).shape == (3, lm.feature_dim)


def test_candidate_pool_samples_each_prompt_once_and_is_deterministic(tiny_lm: str) -> None:
    from duelgym.lm.candidates import CandidatePool

    lm = load(tiny_lm)
    first, second = CandidatePool(lm, 5, seed=2), CandidatePool(lm, 5, seed=2)
    texts, features = first.get(PROMPTS)
    assert len(texts) == 3 and all(len(row) == 5 for row in texts) and features.shape == (3, 5, lm.feature_dim)
    again_texts, again_features = first.get(PROMPTS[::-1])
    assert again_texts == texts[::-1] and torch.equal(again_features, features.flip(0))
    assert len(first) == 3
    assert second.get(PROMPTS)[0] == texts
    assert CandidatePool(lm, 5, seed=2).get(PROMPTS[2:])[0][0] == texts[2], "a prompt's candidates ignore its batch"
    assert CandidatePool(lm, 5, seed=3).get(PROMPTS)[0] != texts


def test_candidate_pool_filled_by_forked_processes_equals_one_filled_lazily(tiny_lm: str) -> None:
    from duelgym.experiment.runner import one_torch_thread
    from duelgym.lm.candidates import CandidatePool

    lm = load(tiny_lm)
    lazy, filled = CandidatePool(lm, 5, seed=2), CandidatePool(lm, 5, seed=2)
    with one_torch_thread():  # as the runner samples: features change in their last bits with the thread count
        texts, features = lazy.get(PROMPTS)
        filled.get(PROMPTS[:1])
        filled.fill(PROMPTS, jobs=2)
    assert len(filled) == 3
    filled_texts, filled_features = filled.get(PROMPTS)
    assert filled_texts == texts and torch.equal(filled_features, features)
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        filled.fill(PROMPTS, jobs=0)


def test_sampling_one_prompt_raises_no_padding_warning(caplog: pytest.LogCaptureFixture) -> None:
    """One prompt has no padding, so transformers drops its attention mask; rows that ended used to feed <pad>
    tokens and drew "we strongly recommend passing in an attention_mask" into every main-job run's output."""
    import transformers

    lm = load("duelgym/tiny-transforms")
    transformers.utils.logging.warning_once.cache_clear()  # the warning is shown once per process
    transformers.logging.enable_propagation()
    try:
        with caplog.at_level("WARNING"):
            texts, _ = lm.sample_with_features(["sort 4 1 3 9"], 64, seed=0)
    finally:
        transformers.logging.disable_propagation()
    assert len({len(t) for t in texts[0]}) > 1  # some rows ended before others
    assert "attention_mask" not in caplog.text
