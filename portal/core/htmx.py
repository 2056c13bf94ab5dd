"""Small helpers for HTMX pages (NetBox's htmx_partial, flash messages by out-of-band swap)."""

from django.shortcuts import render


def htmx_partial(request) -> bool:
    """True for an HTMX request that wants a fragment; boosted requests get full pages."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render_page(request, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """Render the full page, or only `template#partial` for an HTMX request."""
    name = f"{template}#{partial}" if partial and htmx_partial(request) else template
    return render(request, name, context, status=status)
