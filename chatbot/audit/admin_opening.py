"""Admin pages that show a conversation's words record who opened them."""

from django.contrib.admin.utils import unquote

from chatbot.audit import actions


class RecordsTranscriptOpening:
    """Mixed into a ModelAdmin whose change page shows a transcript or part of one."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            actions.record(
                actions.TRANSCRIPT_OPENED,
                request=request,
                target_type=self.model._meta.model_name,
                target_id=unquote(object_id),
                details={"via": "admin"},
            )
        return response
