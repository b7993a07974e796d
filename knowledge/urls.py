"""The knowledge editor's page and its JSON API."""

from django.urls import path

from knowledge import api, views

app_name = "knowledge"

urlpatterns = [
    path("", views.editor_page, name="editor"),
    path("api/nodes", api.nodes, name="nodes"),
    path("api/nodes/<str:key>", api.node, name="node"),
    path("api/nodes/<str:key>/neighbourhood", api.neighbourhood, name="neighbourhood"),
    path("api/relations", api.relations, name="relations"),
    path("api/relations/<int:relation_id>", api.relation, name="relation"),
    path("api/relation-types", api.relation_types, name="relation_types"),
    path("api/changes", api.changes, name="changes"),
    path("api/changes/<int:change_id>/revert", api.revert, name="revert"),
]
