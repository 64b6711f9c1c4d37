"""Load the embedded LM by name, or any causal LM from a local directory or the local Hugging Face cache."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from duelgym._devices import resolve_device
from duelgym.lm.model import LanguageModel

__all__ = ["EMBEDDED_MODEL", "embedded_model_path", "load"]

#: The name of the LM shipped with the package (LLMDuel-v0's default base LM).
EMBEDDED_MODEL = "duelgym/tiny-transforms"
_DATA = Path(__file__).resolve().parents[1] / "_data"


def embedded_model_path() -> Path:
    """Where the installed package keeps the embedded LM's weights and tokenizer."""
    return _DATA / EMBEDDED_MODEL.split("/", 1)[1]


def load(name_or_path: str, device: str | torch.device = "cpu", threads: int | None = None) -> LanguageModel:
    """Load a causal LM for generation and features, never downloading.

    Args:
        name_or_path: ``"duelgym/tiny-transforms"`` (the embedded model), a local directory saved with
            ``save_pretrained``, or a model name already in the local Hugging Face cache.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        threads: If set, ``torch.set_num_threads(threads)`` for CPU work.

    Raises:
        FileNotFoundError: Nothing loadable under that name; the message lists what was tried.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not isinstance(name_or_path, str) or not name_or_path:
        raise TypeError(f"name_or_path must be a non-empty str, got {name_or_path!r}")
    resolved_device = resolve_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    path = embedded_model_path() if name_or_path == EMBEDDED_MODEL else Path(name_or_path)
    source = str(path) if path.is_dir() else name_or_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True).to(resolved_device)
    except (OSError, ValueError) as error:
        tried = [f"the embedded model at {path}" if name_or_path == EMBEDDED_MODEL else f"a local directory {path}",
                 f"the local Hugging Face cache for {name_or_path!r} (offline: nothing is downloaded)"]  # fmt: skip
        raise FileNotFoundError(
            f"cannot load a causal LM {name_or_path!r}; tried {' and '.join(tried)}: {error}"
        ) from error
    settings = {}
    training = Path(source) / "training.json"
    if training.is_file():
        settings = json.loads(training.read_text()).get("generation", {})
    return LanguageModel(model, tokenizer, name_or_path, **settings)
