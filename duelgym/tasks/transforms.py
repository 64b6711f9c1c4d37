"""The embedded default task: short string transforms a program can grade (sort digits, reverse or shift letters).

Prompts look like ``"sort 4 1 3 9"``, ``"rev hzfwy"`` and ``"shift hzfwy"``; the answers are ``"1 3 4 9"``,
``"ywfzh"`` and ``"iagxz"`` (each letter advanced by one, z to a). All three are transforms a small causal LM
trained on the task's demonstrations learns to perform (the embedded LM's greedy answers are right on every eval
prompt), so the LM's states carry what correctness is; an earlier two-digit addition was beyond it (right on 5–9%
of prompts), and on those prompts no feature of the LM could tell a right answer from a wrong one. A response is
the answer in one of five formats (plain, ``"=> answer"``, ``"[answer]"``, ``"(answer)"`` or ``"{answer}"``, each
rarer than the one before in the demonstrations), optionally followed by filler words.
Prompts are split into train and eval by a hash of the prompt text (10% eval), so the two splits are disjoint
whatever the seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from duelgym._validation import check_int

__all__ = ["FORMATS", "FORMAT_RATES", "Split", "TransformTask", "answer", "split_of"]

Split = Literal["train", "eval"]
KINDS = ("sort", "rev", "shift")
FORMATS = ("plain", "arrow", "bracket", "paren", "brace")
#: How often each of :data:`FORMATS` appears in the demonstrations: graded, so that the base LM samples the
#: rarer wrappers rarely (the rater's hidden preferences reward the rarer ones more, utility.py).
FORMAT_RATES = (0.50, 0.22, 0.15, 0.09, 0.04)
#: The wrapped formats' opening and closing characters (the other two: plain and ``"=> answer"``).
WRAPPERS = {"bracket": "[]", "paren": "()", "brace": "{}"}
FILLERS = ("ok", "done", "so", "hmm")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_EVAL_BUCKETS = 10  # one in ten prompts is an eval prompt


def answer(prompt: str) -> str:
    """The correct answer to a prompt of the task (``ValueError`` for anything else)."""
    kind, _, rest = prompt.partition(" ")
    if kind == "sort":
        return " ".join(sorted(rest.split()))
    if kind == "rev":
        return rest[::-1]
    if kind == "shift":
        return "".join(_LETTERS[(_LETTERS.index(c) + 1) % 26] if c in _LETTERS else c for c in rest)
    raise ValueError(f"not a prompt of the task: {prompt!r} (expected 'sort ...', 'rev ...' or 'shift ...')")


def split_of(prompt: str) -> Split:
    """The split a prompt belongs to, fixed by a hash of its text."""
    bucket = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "little") % _EVAL_BUCKETS
    return "eval" if bucket == 0 else "train"


def formatted(text: str, style: str) -> str:
    """``text`` in one of :data:`FORMATS`."""
    if style in WRAPPERS:
        return WRAPPERS[style][0] + text + WRAPPERS[style][1]
    return {"plain": text, "arrow": f"=> {text}"}[style]


@dataclass(frozen=True)
class TransformTask:
    """Prompt generator and noisy demonstrator of the transform task.

    Args:
        seed: Seed of the prompt lists.
    """

    seed: int = 0

    def random_prompt(self, rng: np.random.Generator) -> str:
        kind = KINDS[rng.integers(len(KINDS))]
        if kind == "sort":
            return "sort " + " ".join(str(d) for d in rng.integers(10, size=rng.integers(3, 7)))
        letters = "".join(_LETTERS[i] for i in rng.integers(26, size=rng.integers(3, 8)))
        return f"{kind} {letters}"

    def prompts(self, split: Split, count: int) -> list[str]:
        """``count`` distinct prompts of ``split``, the same list for the same seed (and a prefix of a longer one)."""
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        count = check_int("count", count, minimum=1)
        rng = np.random.default_rng([self.seed, 0 if split == "train" else 1])
        out: dict[str, None] = {}
        while len(out) < count:
            prompt = self.random_prompt(rng)
            if split_of(prompt) == split:
                out[prompt] = None
        return list(out)

    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        """A noisy demonstration: 45% correct, 35% with one corruption, 20% with two or three; in one of
        :data:`FORMATS` at :data:`FORMAT_RATES` (plain 50%, arrow 22%, bracket 15%, paren 9%, brace 4%); 20% with
        trailing filler words."""
        text = answer(prompt)
        noise = rng.random()
        corruptions = 0 if noise < 0.45 else 1 if noise < 0.8 else int(rng.integers(2, 4))
        for _ in range(corruptions):
            text = _corrupt(text, rng)
        style = FORMATS[int(rng.choice(len(FORMATS), p=FORMAT_RATES))]
        text = formatted(text, style)
        if rng.random() < 0.2:
            text += " " + " ".join(FILLERS[i] for i in rng.integers(len(FILLERS), size=rng.integers(1, 3)))
        return text


def _corrupt(text: str, rng: np.random.Generator) -> str:
    """One random edit: replace, delete, insert or swap a character (answers use digits, letters and spaces)."""
    alphabet = "0123456789" + _LETTERS
    chars = list(text)
    position = int(rng.integers(max(1, len(chars))))
    edit = rng.integers(4)
    if edit == 0 and chars:
        chars[position] = alphabet[rng.integers(len(alphabet))]
    elif edit == 1 and len(chars) > 1:
        del chars[position]
    elif edit == 2:
        chars.insert(position, alphabet[rng.integers(len(alphabet))])
    elif len(chars) > 1:
        other = (position + 1) % len(chars)
        chars[position], chars[other] = chars[other], chars[position]
    return "".join(chars)
