"""The embedding interface: batching, the query cache, the OpenAI-compatible backend."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from knowledge import services
from knowledge.embeddings import (
    Embedder,
    EmbeddingError,
    OpenAIBackend,
    TransientEmbeddingError,
    get_embedder,
)
from knowledge.models import Source
from knowledge.tasks import index_source_task
from knowledge.tests.fake_openai import DIMS, FakeOpenAI
from kumon.tests.factories import UnitFactory


@pytest.fixture
def fake_openai(settings) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    settings.OPENAI_BASE_URL = fake.url
    settings.OPENAI_API_KEY = "sk-test"
    yield fake
    fake.close()


def test_openai_backend_batches_and_normalises(fake_openai: FakeOpenAI) -> None:
    embedder = Embedder(OpenAIBackend("text-embedding-3-small"), batch_size=2)

    vectors = embedder.embed_documents(["um dois", "tres", "quatro cinco", "seis", "sete"])

    assert vectors.shape == (5, DIMS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert [len(r["body"]["input"]) for r in fake_openai.requests] == [2, 2, 1]
    assert {r["path"] for r in fake_openai.requests} == {"/v1/embeddings"}
    assert fake_openai.requests[0]["auth"] == "Bearer sk-test"
    assert embedder.name == "openai:text-embedding-3-small"


def test_query_cache_is_bounded_lru(fake_openai: FakeOpenAI) -> None:
    embedder = Embedder(OpenAIBackend("m"), cache_size=2)

    embedder.embed_query("a")
    embedder.embed_query("b")
    embedder.embed_query("a")  # cached, now most recent
    embedder.embed_query("c")  # evicts "b"
    embedder.embed_query("a")  # still cached
    embedder.embed_query("b")  # embedded again

    assert [r["body"]["input"] for r in fake_openai.requests] == [["a"], ["b"], ["c"], ["b"]]
    assert embedder.cache_info() == {"size": 2, "max": 2}


def test_openai_5xx_is_transient_and_4xx_permanent(fake_openai: FakeOpenAI) -> None:
    embedder = Embedder(OpenAIBackend("m"))
    fake_openai.fail_with = 503
    with pytest.raises(TransientEmbeddingError):
        embedder.embed_documents(["x"])
    fake_openai.fail_with = 400
    with pytest.raises(EmbeddingError) as excinfo:
        embedder.embed_documents(["x"])
    assert not isinstance(excinfo.value, TransientEmbeddingError)


@pytest.mark.django_db
def test_index_task_transient_error_is_retried_then_failed(fake_openai: FakeOpenAI, settings) -> None:
    settings.EMBEDDING_MODEL = "openai:m"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    source, _ = services.upsert_faq(
        unit=UnitFactory(), external_id="x", question="q", answer="a", enqueue=False
    )
    fake_openai.fail_with = 502

    result = index_source_task.apply(kwargs={"source_id": source.pk})

    source.refresh_from_db()
    assert isinstance(result.result, TransientEmbeddingError)
    assert len(fake_openai.requests) == 1 + services.MAX_INDEX_ATTEMPTS
    assert (source.index_status, source.index_attempts) == (
        Source.IndexStatus.FAILED,
        1 + services.MAX_INDEX_ATTEMPTS,
    )
    assert source.index_error == "embeddings API error 502"


@pytest.mark.django_db
def test_index_task_permanent_error_fails_at_once(fake_openai: FakeOpenAI, settings) -> None:
    settings.EMBEDDING_MODEL = "openai:m"
    source, _ = services.upsert_faq(
        unit=UnitFactory(), external_id="x", question="q", answer="a", enqueue=False
    )
    fake_openai.fail_with = 400

    result = index_source_task.apply(kwargs={"source_id": source.pk})

    source.refresh_from_db()
    assert isinstance(result.result, EmbeddingError)
    assert len(fake_openai.requests) == 1
    assert (source.index_status, source.index_attempts) == (Source.IndexStatus.FAILED, 1)


@pytest.mark.django_db
def test_index_task_missing_row_and_already_indexed_are_noops() -> None:
    source, _ = services.upsert_faq(
        unit=UnitFactory(), external_id="x", question="q?", answer="a.", enqueue=False
    )
    services.index_source(source_id=source.pk)
    chunk_ids = list(source.chunks.values_list("pk", flat=True))

    assert index_source_task.apply(kwargs={"source_id": 99999}).result == "missing"
    assert index_source_task.apply(kwargs={"source_id": source.pk}).result == "indexed"
    assert list(source.chunks.values_list("pk", flat=True)) == chunk_ids


def test_use_is_the_offline_default() -> None:
    embedder = get_embedder()
    assert (embedder.name, embedder.dimensions()) == ("use-multilingual-v3", 512)
    vectors = embedder.embed_documents(["quanto custa", "how much is it"])
    assert vectors.shape == (2, 512)
