"""The character vocabulary and tokenizer of the embedded LM (a Hugging Face fast tokenizer, one token a char)."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

__all__ = ["CHARACTERS", "SPECIAL_TOKENS", "build_tokenizer"]

SPECIAL_TOKENS = ("<pad>", "<eos>", "<unk>")
#: Everything the transform task's prompts and responses use.
CHARACTERS = " \n0123456789abcdefghijklmnopqrstuvwxyz[]=>(){}"


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level tokenizer: BPE with single-character tokens and no merges, decoded by concatenation."""
    vocabulary = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *CHARACTERS])}
    backend = Tokenizer(models.BPE(vocab=vocabulary, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>", padding_side="left"
    )
