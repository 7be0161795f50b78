from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks.callbacks import Refused, confirmation_record

MAX_BODY = 4096


@csrf_exempt  # a machine's call, authenticated by its Standard Webhooks signature, not a browser form
@require_POST
def confirm_view(request, endpoint_id: int):
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        confirmation_record(endpoint_id=endpoint_id, body=request.body, headers=dict(request.headers))
    except Refused as refusal:
        return JsonResponse({"error": str(refusal)}, status=refusal.status)
    return HttpResponse(status=204)
