"""Input no view should ever see, refused at the door with a clear 4xx instead of a database
error (a 500) deep inside: NUL characters and lone surrogates (PostgreSQL can store neither) in
query strings and form fields, API bodies over the limit, and answers on the API that would
otherwise be HTML. (JSON fields are checked by the API's own schema: apps/portal/api.py.)

The API's error shape is {"code": …, "message": …} (docs/api.md), for every status.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

API_PREFIX = "/api/"
API_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "rate_limited", 500: "server_error",
}


def unstorable(text: str) -> bool:
    """A NUL or a lone surrogate: text PostgreSQL refuses (and no person means)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _api_error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"code": API_CODES.get(status, "error"), "message": message},
                            status=status)
    for name, value in headers.items():
        response[name] = value
    return response


class HostileInputMiddleware:
    """Before the view: refuse what cannot be stored or is too large. After it: make every
    API answer JSON (Django's own 404, 405, 400 pages are HTML)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith(API_PREFIX)
        refusal = self._refusal(request, api=api)
        if refusal is not None:
            status, message = refusal
            if api:
                return _api_error(status, message)
            return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        if api and response.status_code >= 400 and not _is_json(response):
            return self._as_json(response)
        return response

    def _refusal(self, request, *, api: bool) -> tuple[int, str] | None:
        if api:
            raw = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw)
            except ValueError:
                return 400, f"Content-Length {raw[:40]!r} is not a number."
            if length < 0:
                return 400, "Content-Length cannot be negative."
            if length > settings.API_MAX_BODY_BYTES:
                return 413, f"The request is over {settings.API_MAX_BODY_BYTES} bytes."
        for key, values in request.GET.lists():
            if unstorable(key) or any(unstorable(v) for v in values):
                return 400, f"The query parameter {key[:40]!r} holds a NUL or an invalid character."
        if request.method in ("POST", "PUT", "PATCH"):
            content_type = request.content_type or ""
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for key, values in request.POST.lists():
                    if unstorable(key) or any(unstorable(v) for v in values):
                        return 400, f"The field {key[:40]!r} holds a NUL or an invalid character."
                # The admin's bulk actions filter pk__in with what was ticked: ids, or a 500.
                if not all(v.isdigit() for v in request.POST.getlist("_selected_action")):
                    return 400, "The selected items must be ids."
        return None

    def process_exception(self, request, exception):
        """django-rq's dashboard under /admin/django_rq/ (staff only; a library's views)
        indexes its queue and worker lists with the number in the URL, looks jobs up by the id
        in it, and fails on its scheduler pages when rq-scheduler is not installed: each a 500
        for a URL that names nothing (apps/backoffice/admin/pipeline.py drops its table-less
        pages). Answered as the 404 it is; nothing outside those pages is caught here."""
        from django.core.exceptions import ImproperlyConfigured
        from rq.exceptions import NoSuchJobError

        if "django_rq" not in request.path_info.split("/"):
            return None
        # ImproperlyConfigured: its scheduler pages without rq-scheduler installed.
        if isinstance(exception, (LookupError, ValueError, NoSuchJobError, ImproperlyConfigured)):
            return HttpResponse("No such queue, job, worker or scheduler.", status=404,
                                content_type="text/plain; charset=utf-8")
        return None

    def _as_json(self, response) -> JsonResponse:
        status = response.status_code
        messages = {
            404: "There is no such API route.",
            405: "The route does not take this method.",
            413: f"The request is over {settings.API_MAX_BODY_BYTES} bytes.",
        }
        message = messages.get(status, response.reason_phrase or "The request failed.")
        headers = {"Allow": response["Allow"]} if response.has_header("Allow") else {}
        return _api_error(status, message, **headers)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
