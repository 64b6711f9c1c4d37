"""Language-model side of LLMDuel-v0: loading (embedded or local), batched sampling with features, the
embedded model's training script (``python -m duelgym.lm.train_default``)."""

from duelgym.lm.loading import EMBEDDED_MODEL, embedded_model_path, load
from duelgym.lm.model import NUM_STATISTICS, LanguageModel

__all__ = ["EMBEDDED_MODEL", "NUM_STATISTICS", "LanguageModel", "embedded_model_path", "load"]
