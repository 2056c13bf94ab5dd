from django import template

from portal.console.onboarding import onboarding_checklist as checklist_for
from portal.console.tabs import org_tabs_for

register = template.Library()


@register.simple_tag
def org_tabs(organization, access=None):
    return org_tabs_for(organization, access)


@register.simple_tag
def onboarding_checklist(organization) -> dict:
    """The overview's checklist: {"steps", "done", "total", "percent"} (steps registered by each app)."""
    return checklist_for(organization=organization)


@register.filter
def duration(value) -> str:
    """A timedelta as a person reads an age: "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"; "—" for None."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
