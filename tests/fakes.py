"""A fast, deterministic stand-in for the embedding model: hashed character bigrams.

Texts sharing characters get similar vectors, which is enough to exercise indexing
and search without loading the real model."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np


class FakeEmbedder:
    def __init__(self, dim: int = 64, name: str = "fake-bigram"):
        self.dim, self.name = dim, name
        self.documents_embedded = 0

    def _one(self, text: str) -> np.ndarray:
        text = unicodedata.normalize("NFKC", text).lower()
        vec = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed_queries(self, texts):
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_documents(self, texts, progress=False):
        self.documents_embedded += len(texts)
        return self.embed_queries(list(texts))
