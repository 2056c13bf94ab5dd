from django import template

from portal.organizations.tabs import org_tabs_for

register = template.Library()


@register.simple_tag
def org_tabs(organization, access=None):
    return org_tabs_for(organization, access)
