import pytest


@pytest.mark.django_db
def test_login_page_renders_with_csp_nonce(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "'nonce-" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()


@pytest.mark.django_db
def test_support_sees_organization_list(client, support_user, organization):
    client.force_login(support_user)
    response = client.get("/organizations/")
    assert response.status_code == 200
    assert organization.name in response.content.decode()


@pytest.mark.django_db
def test_member_of_another_org_gets_404(client, outsider_user, organization):
    client.force_login(outsider_user)
    assert client.get(f"/organizations/{organization.pk}/").status_code == 404
    assert client.get("/organizations/").status_code == 404
