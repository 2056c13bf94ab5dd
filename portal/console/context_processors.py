from django.conf import settings

from portal.organizations.selectors import organization_list_for_user


def portal(request):
    """Navigation context: the member's organizations and the current one."""
    context = {"PORTAL_BASE_URL": settings.PORTAL_BASE_URL}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["nav_organizations"] = organization_list_for_user(user=user)[:50]
        context["is_support"] = user.is_support
    return context
