"""REST API v1: webhook subscriptions and their deliveries (scopes webhooks:read and :write)."""

import uuid

from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot.api.views import CursorPages, record_setting_changed
from chatbot.api.webhook_serializers import (
    DeliverySerializer,
    NewSubscriptionSerializer,
    SubscriptionChangeSerializer,
    SubscriptionSerializer,
)
from chatbot.webhooks import delivery as webhook_delivery
from chatbot.webhooks.models import Delivery, Subscription

SUBSCRIPTION_ID = OpenApiParameter("subscription_id", int, OpenApiParameter.PATH)
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class NewestSubscriptions(CursorPages):
    ordering = "-created_at"


class NewestDeliveries(CursorPages):
    ordering = "-created_at"


def _subscription_or_404(subscription_id: str) -> Subscription:
    if not subscription_id.isdigit() or len(subscription_id) > 18:
        raise Http404
    subscription = Subscription.objects.filter(pk=int(subscription_id)).first()
    if subscription is None:
        raise Http404
    return subscription


class SubscriptionList(generics.ListAPIView):
    """Webhook subscriptions, newest first; make one (its secret is returned this once)."""

    required_scopes = {"GET": "webhooks:read", "POST": "webhooks:write"}
    serializer_class = SubscriptionSerializer
    pagination_class = NewestSubscriptions
    queryset = Subscription.objects.all()

    @extend_schema(summary="List webhook subscriptions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Subscribe a URL to events",
        request=SubscriptionSerializer,
        responses={201: NewSubscriptionSerializer},
    )
    def post(self, request) -> Response:
        body = SubscriptionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = body.save(owner=request.auth.created_by)
        record_setting_changed(request, subscription, "added", body.validated_data)
        return Response(
            NewSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


@extend_schema(parameters=[SUBSCRIPTION_ID])
class SubscriptionDetail(APIView):
    required_scopes = {
        "GET": "webhooks:read",
        "PATCH": "webhooks:write",
        "DELETE": "webhooks:write",
    }

    @extend_schema(summary="Read a webhook subscription", responses=SubscriptionSerializer)
    def get(self, request, subscription_id: str) -> Response:
        return Response(SubscriptionSerializer(_subscription_or_404(subscription_id)).data)

    @extend_schema(
        summary="Change a subscription; is_active pauses or resumes it",
        request=SubscriptionChangeSerializer,
        responses=SubscriptionSerializer,
    )
    def patch(self, request, subscription_id: str) -> Response:
        subscription = _subscription_or_404(subscription_id)
        body = SubscriptionChangeSerializer(subscription, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        resuming = body.validated_data.get("is_active") is True and not subscription.is_active
        with transaction.atomic():
            subscription = body.save()
            if resuming:
                webhook_delivery.resume(subscription.pk)
            record_setting_changed(request, subscription, "changed", body.validated_data)
        subscription.refresh_from_db()
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(summary="Delete a subscription and its delivery log", responses={204: None})
    def delete(self, request, subscription_id: str) -> Response:
        subscription = _subscription_or_404(subscription_id)
        with transaction.atomic():
            record_setting_changed(request, subscription, "deleted")
            subscription.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="List a subscription's deliveries, newest first, with every attempt",
    parameters=[SUBSCRIPTION_ID],
)
class SubscriptionDeliveries(generics.ListAPIView):
    required_scopes = {"GET": "webhooks:read"}
    serializer_class = DeliverySerializer
    pagination_class = NewestDeliveries

    def get_queryset(self):
        subscription = _subscription_or_404(self.kwargs["subscription_id"])
        return (
            Delivery.objects.filter(subscription=subscription)
            .select_related("event")
            .prefetch_related("attempts")
        )


class DeliveryResend(APIView):
    required_scopes = {"POST": "webhooks:write"}

    @extend_schema(
        summary="Send a delivery again (same Webhook-Id and sequence)",
        parameters=[DELIVERY_ID],
        request=None,
        responses={202: DeliverySerializer},
    )
    def post(self, request, delivery_id: str) -> Response:
        try:
            pk = uuid.UUID(delivery_id)
        except ValueError:
            raise Http404 from None
        if not Delivery.objects.filter(pk=pk).exists():
            raise Http404
        webhook_delivery.resend(pk)
        resent = Delivery.objects.select_related("event").prefetch_related("attempts").get(pk=pk)
        return Response(DeliverySerializer(resent).data, status=status.HTTP_202_ACCEPTED)
