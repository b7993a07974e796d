"""REST API v1 routes, its OpenAPI schema and its docs page."""

import functools

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chatbot.api import audit_views, privacy_views, views, webhook_views
from chatbot.content_security_policy import HEADER, policy_for


def with_data_images(view):
    """The site's policy, but images may be data: URLs: Swagger UI draws its icons that way.
    Only the docs page gets this; a data: image runs no code."""

    @functools.wraps(view)
    def page(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response[HEADER] = policy_for(request, extra_image_sources=("data:",))
        return response

    return page


app_name = "api"

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path(
        "docs",
        with_data_images(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="chatbot/api_docs.html"
            )
        ),
        name="docs",
    ),
    path("conversations", views.ConversationList.as_view(), name="conversations"),
    path("conversations/<str:conversation_id>", views.ConversationDetail.as_view()),
    path("conversations/<str:conversation_id>/events", views.ConversationEvents.as_view()),
    path("conversations/<str:conversation_id>/messages", views.ConversationMessages.as_view()),
    path("handoffs", views.HandoffList.as_view(), name="handoffs"),
    path("handoffs/<str:handoff_id>", views.HandoffDetail.as_view()),
    path("handoffs/<str:handoff_id>/close", views.HandoffClose.as_view()),
    path("tickets", views.TicketList.as_view(), name="tickets"),
    path("tickets/<str:ticket_id>", views.TicketDetail.as_view()),
    path("tickets/<str:ticket_id>/close", views.TicketClose.as_view()),
    path("reports/handoffs", views.HandoffReport.as_view()),
    path("knowledge/nodes", views.NodeList.as_view()),
    path("knowledge/nodes/<str:key>", views.NodeDetail.as_view()),
    path("knowledge/relations", views.RelationList.as_view()),
    path("knowledge/relations/<str:relation_id>", views.RelationDetail.as_view()),
    path("knowledge/changes", views.ChangeList.as_view()),
    path("intents", views.IntentList.as_view()),
    path("intents/<str:name>/examples", views.IntentExamples.as_view()),
    path("models", views.ModelList.as_view()),
    path("training-runs", views.TrainingRunList.as_view()),
    path("training-runs/<str:run_id>", views.TrainingRunDetail.as_view()),
    path("models/rollback", views.ModelRollback.as_view()),
    path("models/<str:version>", views.ModelDetail.as_view()),
    path("models/<str:version>/promote", views.ModelPromote.as_view()),
    path("audit-entries", audit_views.AuditEntryList.as_view()),
    path("webhooks/subscriptions", webhook_views.SubscriptionList.as_view()),
    path(
        "webhooks/subscriptions/<str:subscription_id>", webhook_views.SubscriptionDetail.as_view()
    ),
    path(
        "webhooks/subscriptions/<str:subscription_id>/deliveries",
        webhook_views.SubscriptionDeliveries.as_view(),
    ),
    path("webhooks/deliveries/<str:delivery_id>/resend", webhook_views.DeliveryResend.as_view()),
    path("visitors/<str:visitor_id>/export", privacy_views.VisitorExport.as_view()),
    path("visitors/<str:visitor_id>/erase", privacy_views.VisitorErase.as_view()),
    # A user id may hold a slash (sent as %2F): the path converter keeps it.
    path("customers/<path:external_id>/export", privacy_views.CustomerExport.as_view()),
    path("customers/<path:external_id>/erase", privacy_views.CustomerErase.as_view()),
]
