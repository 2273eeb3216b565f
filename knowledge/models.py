"""Knowledge: sources (FAQ entries, documents) and their chunks with embeddings and full text."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField

from kumon.models import Unit


class TopicOrigin(models.TextChoices):
    AUTO = "auto", _("similarity")
    STAFF = "staff", _("staff")
    NONE = "none", _("no topic (staff)")


class Source(models.Model):
    class Kind(models.TextChoices):
        FAQ = "faq", _("FAQ entry")
        DOCUMENT = "document", _("document")

    class IndexStatus(models.TextChoices):
        PENDING = "pending", _("pending")
        INDEXED = "indexed", _("indexed")
        FAILED = "failed", _("failed")

    # unit NULL = shared, franchise-wide knowledge.
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="sources")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FAQ)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=255, blank=True)
    question = models.TextField(_("question"), blank=True)
    answer = models.TextField(_("answer / body"), blank=True)
    # A unit entry hides the shared entry with the same external id; `overrides` names a shared
    # entry to hide when the ids differ.
    overrides = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="overridden_by",
        limit_choices_to={"unit__isnull": True},
        verbose_name=_("overrides shared entry"),
    )
    document = models.FileField(_("document file"), upload_to="knowledge/", blank=True)
    # The franchise catalogue topic this entry answers (knowledge/catalogue/*.json, by slug): a
    # parent's message is matched against the topic's phrasings too. Linked by similarity at
    # indexing; a staff choice (topic_origin=staff) is kept across re-imports and re-indexing.
    topic = models.CharField(_("catalogue topic"), max_length=60, blank=True)
    topic_score = models.FloatField(_("topic similarity"), null=True, blank=True)
    topic_origin = models.CharField(
        _("topic chosen by"), max_length=10, choices=TopicOrigin.choices, blank=True
    )
    published = models.BooleanField(_("published"), default=True)
    index_status = models.CharField(
        _("indexing"), max_length=10, choices=IndexStatus.choices, default=IndexStatus.PENDING
    )
    index_error = models.CharField(_("indexing error"), max_length=500, blank=True)
    index_attempts = models.PositiveSmallIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)
    # What the chunks were built from (sha256 of the normalised content + model): an unchanged
    # source is not re-embedded.
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("knowledge source")
        verbose_name_plural = _("knowledge sources")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "external_id"],
                condition=~Q(external_id="") & Q(unit__isnull=False),
                name="source_unique_unit_external_id",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id="") & Q(unit__isnull=True),
                name="source_unique_shared_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["index_status", "updated_at"], name="source_status_idx"),
            # The search excludes a unit's unpublished entries by this (usually empty) list.
            models.Index(fields=["unit"], condition=Q(published=False), name="source_unpublished_idx"),
            # The search adds the unit's entries of the query's nearest topics by this index.
            models.Index(fields=["unit", "topic"], condition=~Q(topic=""), name="source_unit_topic_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.question[:80] or f"source {self.pk}"


class Phrasing(models.Model):
    """Another way parents ask an FAQ entry's question, written by staff; embedded on its own."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="phrasings")
    text = models.CharField(_("phrasing"), max_length=500)
    # Written by the language model at import (knowledge.services.generate_phrasings), not by
    # staff: shown as such in the admin, where staff review and delete them.
    generated = models.BooleanField(_("generated"), default=False)

    class Meta:
        verbose_name = _("alternative phrasing")
        verbose_name_plural = _("alternative phrasings")
        constraints = [models.UniqueConstraint(fields=["source", "text"], name="phrasing_unique_text")]

    def __str__(self) -> str:
        return self.text


class Chunk(models.Model):
    class Role(models.TextChoices):
        ENTRY = "entry", _("whole entry")
        QUESTION = "question", _("question")
        PHRASING = "phrasing", _("alternative phrasing")
        SENTENCE = "sentence", _("answer sentence")
        PASSAGE = "passage", _("document passage")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from the source so the search filters one table by unit; a trigger keeps it
    # equal to the source's unit (migration 0005), whatever the writer sets.
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    ordinal = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ENTRY)
    text = models.TextField()
    # The vector column has no fixed dimension so the model can change (`knowledge reembed`);
    # the HNSW index is an expression index on `embedding::vector(N)` for the current model.
    embedding = VectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    search_vector = SearchVectorField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chunk")
        verbose_name_plural = _("chunks")
        constraints = [
            models.UniqueConstraint(fields=["source", "ordinal"], name="chunk_unique_source_ordinal")
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            models.Index(fields=["unit"], name="chunk_unit_idx"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class KnowledgeGap(models.Model):
    """A parent question the knowledge could not answer ("I don't know"), for the gap report."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="knowledge_gaps")
    # The family who asked (their words are personal data: erased with them, LGPD).
    contact = models.ForeignKey(
        "kumon.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="knowledge_gaps"
    )
    text = models.TextField()
    confidence = models.FloatField(default=0.0)
    # low_confidence, uncovered_topic, no_match, other_unit, student_record, prompt_injection (knowledge/guard.py)
    reason = models.CharField(max_length=30, blank=True)
    # [{"source_id", "external_id", "question", "confidence"}] best first.
    candidates = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("knowledge gap")
        verbose_name_plural = _("knowledge gaps")
        indexes = [models.Index(fields=["unit", "-created_at"], name="gap_unit_created_idx")]

    def __str__(self) -> str:
        return self.text[:80]


class IndexState(models.Model):
    """The one embedding model the chunk vectors were built with (a single row, pk=1)."""

    model_name = models.CharField(max_length=200)
    dimensions = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.model_name} ({self.dimensions})"
