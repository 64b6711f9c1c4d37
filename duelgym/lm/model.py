"""A causal LM with its tokenizer: batched greedy decoding, sampling with a KV cache, and reward-model features.

Features of a response (what a reward model sees) come from the same forward pass that produced it: the mean of
the final hidden states at the positions that predicted the response's tokens, then eight statistics of the
LM's own token log-probabilities (notes/llm-env-feasibility.md found that pooled hidden states alone carry almost
no utility signal in a tiny LM, and that these statistics do): sum, mean and min of the log-probabilities, the
first token's, the fractions of tokens the LM gave probability below 0.05, 0.2 and 0.5, and the length in tokens
divided by ``max_new_tokens``. ``feature_dim = hidden size + 8``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from duelgym._validation import check_finite, check_int

__all__ = ["NUM_STATISTICS", "LanguageModel"]

NUM_STATISTICS = 8


def _check_prompts(prompts: Sequence[str]) -> list[str]:
    if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
        raise TypeError(f"prompts must be a list of str, got {prompts!r}"[:200])
    if len(prompts) == 0:
        raise ValueError("prompts must not be empty")
    return list(prompts)


class LanguageModel:
    """A Hugging Face causal LM and tokenizer behind the four calls the env and agents need.

    Args:
        model: A ``transformers`` causal LM (``PreTrainedModel`` with ``generate``).
        tokenizer: Its tokenizer (left padding is set here).
        name: The name or path it was loaded from (what ``duelgym.lm.load`` takes).
        prompt_suffix: Text appended to every prompt before generation (``"\\n"`` for the embedded model).
        max_new_tokens: Response length limit, in tokens.
        batch_size: Sequences per forward batch when sampling many responses.
    """

    def __init__(
        self,
        model,
        tokenizer,
        name: str,
        prompt_suffix: str = "",
        max_new_tokens: int = 24,
        batch_size: int = 1024,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.eos_token_id is None:
            # Responses end at <eos>, and teacher-forced passes (embed, the policy update) append it.
            raise ValueError(f"the tokenizer of {name!r} has no eos token; LanguageModel needs one to end responses "
                             "(set tokenizer.eos_token before wrapping it)")  # fmt: skip
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.name = name
        self.prompt_suffix = prompt_suffix
        self.max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=1)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.device = next(model.parameters()).device
        # Padding and unknown tokens are never part of a response (decoding would drop them silently).
        special = {self.tokenizer.pad_token_id, self.tokenizer.unk_token_id} - {None, self.tokenizer.eos_token_id}
        self._suppressed = sorted(special) or None

    def with_model(self, model) -> LanguageModel:
        """The same tokenizer and settings around another model (a copy being trained, an anchor, …)."""
        return LanguageModel(model, self.tokenizer, self.name, self.prompt_suffix, self.max_new_tokens,
                             self.batch_size)  # fmt: skip

    @property
    def feature_dim(self) -> int:
        """d of :meth:`embed` and of the features returned by :meth:`sample_with_features`."""
        return int(self.model.config.hidden_size) + NUM_STATISTICS

    def _encode_prompts(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer([p + self.prompt_suffix for p in prompts], return_tensors="pt", padding=True)
        return {key: value.to(self.device) for key, value in batch.items()}

    @torch.no_grad()
    def _generate(self, prompts: list[str], do_sample: bool, temperature: float, top_k: int | None, seed: int | None):
        """Texts and features (n, d) of one response per prompt."""
        inputs = self._encode_prompts(prompts)
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(
                **inputs,
                do_sample=do_sample,
                temperature=temperature if do_sample else None,
                top_k=top_k if do_sample else None,
                top_p=None,
                max_new_tokens=self.max_new_tokens,
                # Rows that have ended go on with <eos>, not <pad>: transformers drops an all-ones attention mask
                # and then warns that <pad> inputs "may be padded". Those positions are masked out below, and the
                # other rows never see them, so texts and features are the same either way.
                pad_token_id=self.tokenizer.eos_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
                suppress_tokens=self._suppressed,
                return_dict_in_generate=True,
                output_hidden_states=True,
                output_logits=True,
            )
        tokens = out.sequences[:, inputs["input_ids"].shape[1] :]  # (n, t)
        hidden = torch.stack([step[-1][:, -1] for step in out.hidden_states], dim=1)  # (n, t, H)
        log_probs = torch.stack(out.logits, dim=1).float().log_softmax(dim=-1)  # (n, t, V)
        # Positions up to and including the first <eos> belong to the response; later ones are padding.
        is_eos = tokens == self.tokenizer.eos_token_id
        after_eos = (is_eos.cumsum(dim=1) - is_eos.long()) > 0
        mask = ~after_eos
        token_log_probs = log_probs.gather(2, tokens[..., None])[..., 0]
        features = self._features(hidden, token_log_probs, mask)
        texts = self.tokenizer.batch_decode(
            tokens.masked_fill(after_eos | is_eos, self.tokenizer.pad_token_id), skip_special_tokens=True
        )
        return texts, features

    def _features(self, hidden: torch.Tensor, token_log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean hidden state and log-probability statistics over the masked positions: (n, H + 8), float32."""
        weights = mask.float()
        count = weights.sum(dim=1).clamp_min(1.0)
        mean_hidden = (hidden.float() * weights[..., None]).sum(dim=1) / count[:, None]
        log_p = token_log_probs * weights
        probability = token_log_probs.exp()
        statistics = torch.stack(
            [
                log_p.sum(dim=1),
                log_p.sum(dim=1) / count,
                token_log_probs.masked_fill(~mask, 0.0).min(dim=1).values,
                token_log_probs[:, 0],
                ((probability < 0.05) & mask).sum(dim=1) / count,
                ((probability < 0.2) & mask).sum(dim=1) / count,
                ((probability < 0.5) & mask).sum(dim=1) / count,
                weights.sum(dim=1) / self.max_new_tokens,
            ],
            dim=1,
        )
        return torch.cat([mean_hidden, statistics], dim=1)

    def greedy(self, prompts: Sequence[str]) -> list[str]:
        """The most likely response to each prompt (greedy decoding)."""
        prompts = _check_prompts(prompts)
        return [
            text
            for start in range(0, len(prompts), self.batch_size)
            for text in self._generate(prompts[start : start + self.batch_size], False, 1.0, None, None)[0]
        ]

    def sample_with_features(
        self,
        prompts: Sequence[str],
        num_samples: int,
        seed: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> tuple[list[list[str]], torch.Tensor]:
        """``num_samples`` responses per prompt and their features, from one sampling pass.

        Returns:
            ``(texts, features)``: texts[i][j] is the j-th response to prompt i; features has shape
            (len(prompts), num_samples, feature_dim), float32, on the LM's device. The same seed gives the same
            responses on the same device.
        """
        prompts = _check_prompts(prompts)
        num_samples = check_int("num_samples", num_samples, minimum=1)
        temperature = check_finite("temperature", temperature)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if top_k is not None:
            top_k = check_int("top_k", top_k, minimum=1)
        flat = [p for p in prompts for _ in range(num_samples)]
        texts, features = [], []
        for index, start in enumerate(range(0, len(flat), self.batch_size)):
            chunk_seed = None if seed is None else seed * 1_000_003 + index
            chunk_texts, chunk_features = self._generate(
                flat[start : start + self.batch_size], True, temperature, top_k, chunk_seed
            )
            texts.extend(chunk_texts)
            features.append(chunk_features)
        grouped = [texts[i * num_samples : (i + 1) * num_samples] for i in range(len(prompts))]
        return grouped, torch.cat(features).reshape(len(prompts), num_samples, -1)

    def sample(
        self,
        prompts: Sequence[str],
        num_samples: int,
        seed: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> list[list[str]]:
        """``num_samples`` sampled responses per prompt (texts only; see :meth:`sample_with_features`)."""
        return self.sample_with_features(prompts, num_samples, seed, temperature, top_k)[0]

    @torch.no_grad()
    def embed(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Features (n, feature_dim) of given responses, by one teacher-forced pass over prompt + response + <eos>.

        They equal the features :meth:`sample_with_features` returned for a sampled response that ended with <eos>.
        """
        prompts = _check_prompts(prompts)
        if isinstance(responses, str):
            raise TypeError(
                f"responses must be a list of {len(prompts)} str, one per prompt, got the single str {responses!r}"[
                    :200
                ]
                + " (wrap one response in a list: a str would be read as one response per character)"
            )
        if len(responses) != len(prompts) or not all(isinstance(r, str) for r in responses):
            raise TypeError(f"responses must be a list of {len(prompts)} str, one per prompt")
        out = []
        for start in range(0, len(prompts), self.batch_size):
            out.append(
                self._embed(prompts[start : start + self.batch_size], list(responses[start : start + self.batch_size]))
            )
        return torch.cat(out)

    def response_logits(
        self, prompts: Sequence[str], responses: Sequence[str], output_hidden_states: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One teacher-forced pass over prompt + response + <eos>, in one batch (gradients flow where enabled).

        Each response is tokenised without special tokens, cut to ``max_new_tokens − 1`` tokens and closed with
        <eos> (what a sampled response that ended by itself consists of).

        Returns:
            ``(logits, tokens, mask, hidden)``: logits (n, t, V) float32 at the positions that predict the
            response's tokens; tokens (n, t) int64, the response's tokens (padding after <eos>); mask (n, t) bool,
            True on the response's tokens including <eos>; hidden (n, t, H), the final hidden states at those
            positions, or ``None`` unless ``output_hidden_states``.
        """
        prompts = list(prompts)
        inputs = self._encode_prompts(prompts)
        eos = self.tokenizer.eos_token_id
        response_ids = [
            [*self.tokenizer(r, add_special_tokens=False).input_ids[: self.max_new_tokens - 1], eos] for r in responses
        ]
        width = max(len(r) for r in response_ids)
        tail = torch.full((len(prompts), width), self.tokenizer.pad_token_id, device=self.device)
        tail_mask = torch.zeros((len(prompts), width), dtype=torch.bool, device=self.device)
        for row, ids in enumerate(response_ids):
            tail[row, : len(ids)] = torch.tensor(ids, device=self.device)
            tail_mask[row, : len(ids)] = True
        input_ids = torch.cat([inputs["input_ids"], tail], dim=1)
        attention = torch.cat([inputs["attention_mask"], tail_mask.long()], dim=1)
        positions = (attention.cumsum(dim=1) - 1).clamp_min(0)
        out = self.model(
            input_ids=input_ids, attention_mask=attention, position_ids=positions,
            output_hidden_states=output_hidden_states,
        )  # fmt: skip
        prompt_width = inputs["input_ids"].shape[1]
        # The position before each response token predicts it.
        window = slice(prompt_width - 1, prompt_width - 1 + width)
        hidden = out.hidden_states[-1][:, window] if output_hidden_states else None
        return out.logits[:, window].float(), tail, tail_mask, hidden

    def _embed(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        logits, tokens, mask, hidden = self.response_logits(prompts, responses, output_hidden_states=True)
        token_log_probs = logits.log_softmax(dim=-1).gather(2, tokens[..., None])[..., 0]
        return self._features(hidden, token_log_probs, mask)
