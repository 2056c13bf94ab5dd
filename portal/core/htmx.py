"""The one helper set for HTMX pages (NetBox's htmx_partial): render, re-render an invalid form, answer an
action with its changed partials and the flash messages out of band, navigate."""

from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect

from portal.core.problems import Problem

FLASH_TEMPLATE = "components/flash_oob.html"


def htmx_partial(request) -> bool:
    """True for an HTMX request that wants a fragment; boosted requests get full pages."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render_page(request, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """Render the full page, or only `template#partial` for an HTMX request."""
    name = f"{template}#{partial}" if partial and htmx_partial(request) else template
    return render(request, name, context, status=status)


def form_errors(form, exc: ValidationError | Problem, *, field_map: Mapping[str, str] | None = None) -> None:
    """Show a service's ValidationError or Problem on the form, next to the field it concerns.

    `field_map` renames a ValidationError key or a Problem slug to a form field; whatever the form has
    no field for goes on top of the form."""
    field_map = field_map or {}

    def _field(key: str | None) -> str | None:
        name = field_map.get(key, key) if key is not None else None
        return name if name in form.fields else None

    if isinstance(exc, Problem):
        form.add_error(_field(field_map.get(exc.problem.slug)), exc.detail)
    elif hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(_field(key), errors)
    else:
        form.add_error(None, exc.messages)


def flash_oob(request) -> str:
    """The flash messages as an out-of-band swap, appended to a fragment answer."""
    return render_to_string(FLASH_TEMPLATE, request=request)


def render_invalid(request, template: str, context: dict, *, partial: str, flash: bool = False) -> HttpResponse:
    """An invalid form: always 422 (htmx swaps it, see _base.html); only the partial for a non-boosted HTMX
    request, the full page otherwise."""
    if not htmx_partial(request):
        return render(request, template, context, status=422)
    html = render_to_string(f"{template}#{partial}", context, request=request)
    return HttpResponse(html + (flash_oob(request) if flash else ""), status=422)


def after_action(
    request,
    template: str,
    context: dict | Callable[[], dict],
    *,
    partials: tuple[str, ...],
    redirect_to: str,
) -> HttpResponse:
    """After a successful action: for HTMX the changed partials (the first in place, the rest out of band
    with `oob`) plus the flash messages; a plain form post is redirected to `redirect_to`.
    `context` may be a callable, so a redirect does not build it."""
    if not htmx_partial(request):
        return redirect(redirect_to)
    context = context() if callable(context) else context
    html = render_to_string(f"{template}#{partials[0]}", context, request=request)
    for name in partials[1:]:
        html += render_to_string(f"{template}#{name}", {**context, "oob": True}, request=request)
    return HttpResponse(html + flash_oob(request))


def navigate(request, url: str) -> HttpResponse:
    """Go to another page: a full page load (HX-Redirect) for HTMX, a plain redirect otherwise.

    Not HX-Location: its follow-up request carries HX-Request and would get a partial as the whole body."""
    if htmx_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)
