"""A Hugging Face causal LM and reward model from local paths: the base LM of the candidates and the rater.

    python examples/hf_model.py [--lm DIR] [--reward-model DIR]

Without arguments it saves two tiny randomly initialised models in a temporary directory first (nothing is ever
downloaded); point ``--lm`` at any causal LM saved with ``save_pretrained`` and ``--reward-model`` at a
sequence-classification model to use real ones.
"""

import argparse
import tempfile
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel

import duelgym
import duelgym.agents
from duelgym.envs.candidates import CandidateWrapper
from duelgym.lm import load
from duelgym.lm.candidates import CandidatePool
from duelgym.lm.vocabulary import build_tokenizer


def save_tiny_models(directory: Path) -> tuple[Path, Path]:
    tokenizer = build_tokenizer()
    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.eos_token_id,
    }
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=64, num_labels=1, **ids)
    torch.manual_seed(0)
    for name, model in (("lm", GPT2LMHeadModel(config)), ("reward", GPT2ForSequenceClassification(config))):
        model.save_pretrained(directory / name)
        tokenizer.save_pretrained(directory / name)
    return directory / "lm", directory / "reward"


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--lm", type=Path)
parser.add_argument("--reward-model", type=Path)
args = parser.parse_args()
with tempfile.TemporaryDirectory() as scratch:
    lm_path, reward_path = save_tiny_models(Path(scratch)) if args.lm is None else (args.lm, args.reward_model)
    lm = load(str(lm_path))  # the same call loads any local causal LM, or a name already in the local HF cache
    venv = duelgym.make_vec("LLMDuel-v0", num_envs=4, rater=str(reward_path), temperature=1.0, base_lm=str(lm_path))
    env = CandidateWrapper(venv, CandidatePool(lm, num_candidates=8))
    obs, _ = env.reset(seed=0)
    agent = duelgym.agents.make("dts", env, seed=0)
    for batch in range(3):
        pairs = agent.select(obs)
        next_obs, reward, _, _, info = env.step(pairs)
        p_first = info["final_info"]["p_first"]  # the step's results (autoreset SAME_STEP)
        print(f"batch {batch}: rater chose first in {int(reward.sum())} of 4, mean p_first {p_first.mean():.2f}")
        agent.observe(obs, pairs, reward)
        obs = next_obs
    print("served:", env.responses(agent.respond(obs)))
