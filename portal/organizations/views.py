from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.organizations.access import access_organization, require_support
from portal.organizations.selectors import organization_list_for_user


@login_required
def organization_list(request):
    require_support(request.user)
    organizations = organization_list_for_user(user=request.user)
    return render(
        request,
        "organizations/organization_list.html",
        {"organizations": organizations, "nav_section": "organizations"},
    )


@login_required
def organization_detail(request, organization_id):
    access = access_organization(user=request.user, organization_id=organization_id)
    return render(
        request,
        "organizations/organization_detail.html",
        {
            "access": access,
            "organization": access.organization,
            "current_organization": access.organization,
            "org_tab": "overview",
        },
    )
