"""Train the embedded LM of LLMDuel-v0 on noisy demonstrations of the transform task.

    python -m duelgym.lm.train_default [--out duelgym/_data/tiny-transforms] [--steps 5000] [--batch-size 64]
                                       [--seed 0] [--threads 1]

A GPT-2-architecture causal LM over characters (3 layers, 96 wide, 4 heads, 48 positions: about 345,000
parameters, 1.4 MB as float32 safetensors), trained with AdamW on batches of 64 fresh demonstrations from
:meth:`TransformTask.demonstration` (45% correct, the rest corrupted; five formats of graded rarity and some filler),
so that its samples vary in quality. Each sequence is ``prompt + "\\n" + response + <eos>``; the loss covers the
response and <eos>. Reproducible from the seed on the CPU with one thread; the shipped model took 1,119 s with the
defaults (one thread). It never sees the rater's utility or its hidden preferences, only noisy demonstrations (a
generic language-modelling objective). On the 300 eval prompts its greedy answers are right for every sort,
reversal and shift (plain format), and its samples hold the exactly formatted right answer in the rarer formats
about as often as the demonstrations hold those formats (candidates of 200 training prompts: bracket 5.9%, paren
3.5%, brace 1.6%; present among the 64 of 97%, 87% and 62% of prompts). Best-of-64 by true utility beats its
greedy response with probability 0.919 under the reference rater (the head-room LLMDuel-v0 needs, ≥ 0.8), and a
reward model regressed on the true utilities of the training pool reaches the same 0.919 from the LM's features
(``benchmarks/llm_ceiling.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import GPT2Config, GPT2LMHeadModel

from duelgym.lm.vocabulary import build_tokenizer
from duelgym.tasks import TransformTask, split_of

__all__ = ["MODEL_CONFIG", "main", "train"]

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "_data" / "tiny-transforms"
#: Sizes from the feasibility study (notes/llm-env-feasibility.md): big enough to learn sort and reverse in minutes.
MODEL_CONFIG = {"n_embd": 96, "n_layer": 3, "n_head": 4, "n_positions": 48}
SEQUENCE_LENGTH = 48
#: Prompts of the task are at most 16 characters; with the newline they fit in 24, leaving 24 for the response.
PROMPT_WINDOW = 24


def demonstrations(task: TransformTask, rng: np.random.Generator, count: int) -> tuple[list[str], list[str]]:
    """``count`` fresh (train-split prompt, noisy demonstration) pairs."""
    prompts: list[str] = []
    while len(prompts) < count:
        prompt = task.random_prompt(rng)
        if split_of(prompt) == "train":
            prompts.append(prompt)
    return prompts, [task.demonstration(p, rng) for p in prompts]


def encode(tokenizer, prompts: list[str], responses: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded input ids, attention mask and labels (−100 outside the response and <eos>), (B, 48)."""
    ids = torch.full((len(prompts), SEQUENCE_LENGTH), tokenizer.pad_token_id)
    labels = torch.full_like(ids, -100)
    for row, (prompt, response) in enumerate(zip(prompts, responses, strict=True)):
        head = tokenizer(prompt + "\n").input_ids
        tail = ([*tokenizer(response).input_ids, tokenizer.eos_token_id])[: SEQUENCE_LENGTH - len(head)]
        ids[row, : len(head) + len(tail)] = torch.tensor(head + tail)
        labels[row, len(head) : len(head) + len(tail)] = torch.tensor(tail)
    return ids, (ids != tokenizer.pad_token_id).long(), labels


def train(out: Path, steps: int, seed: int, batch_size: int = 64, learning_rate: float = 3e-3) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = build_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, **MODEL_CONFIG,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(0.05, 2 / steps)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=warmup)
    task = TransformTask(seed)
    start, losses = time.perf_counter(), []
    columns = (TextColumn("training the embedded LM"), BarColumn(), TextColumn("{task.fields[loss]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns) as progress:
        bar = progress.add_task("train", total=steps, loss="")
        for _ in range(steps):
            ids, mask, labels = encode(tokenizer, *demonstrations(task, rng, batch_size))
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            progress.update(bar, advance=1, loss=f"loss {np.mean(losses[-50:]):.3f}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)  # generation settings live in training.json
    tokenizer.save_pretrained(out)
    record = {
        "seed": seed, "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate,
        "parameters": sum(p.numel() for p in model.parameters()), "final_loss": float(np.mean(losses[-50:])),
        "seconds": round(time.perf_counter() - start), "threads": torch.get_num_threads(),
        "generation": {"prompt_suffix": "\n", "max_new_tokens": SEQUENCE_LENGTH - PROMPT_WINDOW},
    }  # fmt: skip
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the weights and tokenizer")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="1 keeps the run bit-for-bit reproducible")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(train(args.out, args.steps, args.seed, args.batch_size), indent=2))


if __name__ == "__main__":
    main()
