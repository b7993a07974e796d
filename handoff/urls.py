"""The agent console's pages and JSON endpoints."""

from django.urls import path

from handoff import views

app_name = "handoff"

urlpatterns = [
    path("", views.console_page, name="console"),
    path("report/", views.report_page, name="report"),
    path("api/report", views.report, name="report_data"),
    path("api/canned", views.canned, name="canned"),
    path("api/agents", views.agents, name="agents"),
    path("api/handoffs/<int:handoff_id>", views.packet, name="packet"),
]
