"""Knowledge API: hybrid search and the list of sources, scoped to the user's units."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import search as knowledge_search
from knowledge import selectors
from knowledge.models import Source


class HitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    source_id = serializers.IntegerField()
    external_id = serializers.CharField()
    question = serializers.CharField()
    text = serializers.CharField()
    answer = serializers.CharField()
    vector_score = serializers.FloatField()
    text_score = serializers.FloatField()
    fused_score = serializers.FloatField()
    confidence = serializers.FloatField()
    topic = serializers.CharField()
    topic_label = serializers.CharField()
    topic_score = serializers.FloatField()
    lexical_score = serializers.FloatField()
    matched = serializers.CharField()
    matched_text = serializers.CharField()


class SearchApi(APIView):
    class InputSerializer(serializers.Serializer):
        unit = serializers.SlugField()
        query = serializers.CharField(max_length=2000)
        limit = serializers.IntegerField(min_value=1, max_value=20, default=5)

        def validate_query(self, value: str) -> str:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise serializers.ValidationError("not valid text (a lone surrogate)") from exc
            return value

    class SearchOutputSerializer(serializers.Serializer):
        answered = serializers.BooleanField()
        confidence = serializers.FloatField()
        refusal_reason = serializers.CharField(allow_null=True)
        normalized_query = serializers.CharField()
        model = serializers.CharField()
        elapsed_ms = serializers.FloatField()
        hits = HitSerializer(many=True)
        decision = serializers.ChoiceField(choices=["answer", "clarify", "refuse"])
        clarify = HitSerializer(many=True)
        topic = serializers.CharField()
        topic_score = serializers.FloatField()

    @extend_schema(
        request=InputSerializer,
        responses={200: SearchOutputSerializer},
        summary="Hybrid search of a unit's knowledge",
        description=(
            "Vector similarity, the franchise topic catalogue and Portuguese full text over the "
            "unit's own and shared knowledge. `decision`: answer (`answered` true, hits[0]), clarify "
            "(`clarify`: 2-3 close entries to ask about) or refuse (`refusal_reason`). `confidence` is "
            "the probability that hits[0] is right. Searches are not recorded as gaps here."
        ),
        tags=["knowledge"],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unit = selectors.unit_for_user(user=request.user, slug=data.validated_data["unit"])
        result = knowledge_search.search(
            unit=unit,
            query=data.validated_data["query"],
            limit=data.validated_data["limit"],
            record_gap=False,
        )
        payload = result.as_dict()
        payload.pop("gap_id", None)
        payload.pop("query", None)
        return Response(self.SearchOutputSerializer(payload).data)


class SourceListApi(ListAPIView):
    class SourceOutputSerializer(serializers.ModelSerializer):
        unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
        phrasings = serializers.SerializerMethodField()

        class Meta:
            model = Source
            fields = [
                "id",
                "unit",
                "kind",
                "external_id",
                "title",
                "question",
                "answer",
                "phrasings",
                "published",
                "index_status",
                "index_error",
                "indexed_at",
                "updated_at",
            ]

        def get_phrasings(self, obj: Source) -> list[str]:
            return [p.text for p in obj.phrasings.all()]

    serializer_class = SourceOutputSerializer

    @extend_schema(
        parameters=[OpenApiParameter("unit", str, description="unit slug: its own and the shared sources")],
        summary="Knowledge sources visible to the user",
        tags=["knowledge"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        slug = self.request.query_params.get("unit")
        unit = selectors.unit_for_user(user=self.request.user, slug=slug) if slug else None
        return selectors.visible_sources(user=self.request.user, unit=unit).prefetch_related("phrasings")
