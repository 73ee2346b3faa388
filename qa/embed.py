"""Embedders: the protocol the index needs, and the sentence-transformers one."""

from __future__ import annotations

import logging
import os
from typing import Protocol

import numpy as np

from .config import DEFAULT_MODEL, Config
from .errors import ModelError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


class SentenceEmbedder:
    """A sentence-transformers model; its saved prompts supply e5's prefixes."""

    def __init__(self, name: str, path: str, batch_size: int = 16):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()

            self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:  # a missing or broken folder surfaces in many forms
            raise ModelError(
                f"cannot load embedding model {name!r} from {path}: {exc}. "
                "Run `qa model` to build the default model, or pass a local sentence-transformers folder."
            ) from exc
        self.name = name
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(self.model.encode_query, texts, False)

    def embed_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(self.model.encode_document, texts, progress)

    def _encode(self, encode, texts, progress) -> np.ndarray:
        vectors = encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)


def model_path(config: Config, build: bool = True) -> str:
    """Where the configured model lives; the default one is built on first need."""
    if config.index.model != DEFAULT_MODEL:
        return config.index.model
    from .offline_model import ensure_e5_small

    models = config.home / "models"
    if not build:
        return str(models / DEFAULT_MODEL)
    return str(ensure_e5_small(models))


def load_embedder(config: Config) -> SentenceEmbedder:
    return SentenceEmbedder(config.index.model, model_path(config), config.index.batch_size)
