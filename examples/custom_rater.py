"""Your own prompts and rater on LLMDuel-v0: a callable rater that prefers short answers mentioning a keyword."""

import numpy as np

import duelgym
from duelgym.lm import load

PROMPTS = ["name a fruit", "name a colour", "name an animal"]


def prefers_short_and_keyword(prompts, first, second):
    """p(first ≻ second) for B pairs: Bradley-Terry on a score of our own (the env checks it is in [0, 1])."""

    def score(prompt, response):
        return -0.1 * len(response) + (2.0 if prompt.split()[-1] in response else 0.0)

    gaps = np.array([score(p, a) - score(p, b) for p, a, b in zip(prompts, first, second, strict=True)])
    return 1.0 / (1.0 + np.exp(-gaps))


env = duelgym.make("LLMDuel-v0", prompts=PROMPTS, rater=prefers_short_and_keyword)
lm = load(env.unwrapped.base_lm)  # any causal LM works; the embedded one only knows its toy task
prompt, info = env.reset(seed=0)
for _ in range(3):
    first, second = lm.sample([prompt], 2, seed=info["prompt_id"])[0]
    _, reward, _, _, info = env.step((first, second))
    choice = "first" if reward else "second"
    print(f"{prompt!r}: {first!r} vs {second!r} -> chose {choice} (p_first {info['p_first']:.2f})")
    prompt, info = env.reset()
