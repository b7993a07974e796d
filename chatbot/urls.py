"""HTTP URL routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chatbot import views
from chatbot.metrics_endpoint import metrics_view
from chatbot.staff_pages import StaffLoginView

urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("healthz", views.health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("chatbot.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The editor's "try it" box answers with the live turn, which the knowledge app may not
    # import: the conversation app serves it at the editor's address.
    path("knowledge/api/try", views.try_message, name="try"),
    path("knowledge/", include("knowledge.urls")),
    path("console/", include("handoff.urls")),
]
