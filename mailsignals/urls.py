"""django-anymail's tracking webhooks, one per provider at /anymail/<provider>/tracking/, and only
while ANYMAIL_WEBHOOK_SECRET is set: anymail alone would accept unauthenticated posts with a warning."""

from functools import wraps

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.urls import URLPattern


def _guarded(view):
    @wraps(view)  # keeps anymail's csrf_exempt: the provider authenticates by basic auth and signature
    def guarded(request, *args, **kwargs):
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except UnicodeError:  # anymail encodes a signature's fields as ASCII: a forged one is no 500
            return HttpResponseBadRequest("malformed webhook")

    return guarded


app_name = "anymail"
urlpatterns = [
    URLPattern(pattern.pattern, _guarded(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if pattern.name and pattern.name.endswith("_tracking_webhook")
]
