"""DRF API of the channel: the Evolution instances of the user's units."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whatsapp import selectors


class InstancesApi(APIView):
    """Each of the user's units with an Evolution instance, and its connection state as
    Evolution reports it (`GET /instance/connectionState/{instance}`, cached ~30 s, or the last
    `connection.update` webhook). Staff and owners see only their own units."""

    class OutputSerializer(serializers.Serializer):
        unit = serializers.CharField(help_text="unit slug")
        unit_name = serializers.CharField()
        instance = serializers.CharField()
        gateway = serializers.CharField(help_text="console | evolution | meta")
        state = serializers.CharField(help_text="open | connecting | close | unknown")
        error = serializers.CharField(help_text="why the state is unknown, if it is")
        checked_at = serializers.FloatField(allow_null=True, help_text="epoch seconds of the check")

    @extend_schema(
        operation_id="evolution_instances", responses={200: OutputSerializer(many=True)}, tags=["whatsapp"]
    )
    def get(self, request: Request) -> Response:
        rows = selectors.instances_for(request.user)
        return Response(self.OutputSerializer([r.__dict__ for r in rows], many=True).data)
