"""HTTP URL routes."""

from django.contrib import admin
from django.urls import path

from chatbot import views

urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
]
