"""HTTP URL routes."""

from django.contrib import admin
from django.urls import include, path

from chatbot import views
from chatbot.metrics_endpoint import metrics_view
from chatbot.staff_auth import views as sign_in

urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("healthz", views.health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("chatbot.api.urls")),
    # The admin signs in and out through the staff pages: one throttled sign-in, no second form.
    path("admin/login/", sign_in.admin_sign_in),
    path("admin/logout/", sign_in.sign_out),
    path("admin/", admin.site.urls),
    path("accounts/login/", sign_in.SignInView.as_view(), name="login"),
    path("accounts/login/code/", sign_in.second_factor_code, name="sign_in_code"),
    path("accounts/login/enrol/", sign_in.second_factor_enrolment, name="sign_in_enrol"),
    path("accounts/security/", sign_in.security_page, name="sign_in_security"),
    path("accounts/sign-out-everywhere/", sign_in.sign_out_everywhere, name="sign_out_everywhere"),
    path("accounts/logout/", sign_in.sign_out, name="logout"),
    # The editor's "try it" box answers with the live turn, which the knowledge app may not
    # import: the conversation app serves it at the editor's address.
    path("knowledge/api/try", views.try_message, name="try"),
    path("knowledge/", include("knowledge.urls")),
    path("console/", include("handoff.urls")),
]
