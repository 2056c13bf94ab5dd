"""404/500 for the whole site: problem+json under /v1 and /oauth, a page elsewhere."""

from django.shortcuts import render

from portal.core.api.exceptions import problem_response

API_PREFIXES = ("/v1/", "/oauth/")


def page_not_found(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return problem_response("not-found", request=request, detail="No such resource.")
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if request.path.startswith(API_PREFIXES):
        return problem_response("internal-error", request=request)
    return render(request, "errors/500.html", status=500)
