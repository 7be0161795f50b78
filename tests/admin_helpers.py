"""Driving the admin as a browser does."""


def admin_search(client, url: str, term: str, **params):
    """Search a changelist through its search box: the term is posted, the list URL names only a
    random key (staff.admin_tools.PostedSearchMixin). Returns the list page it leads to."""
    from urllib.parse import urlencode

    target = f"{url}?{urlencode(params)}" if params else url
    response = client.post(target, {"q": term})
    assert response.status_code == 302, response.status_code
    assert term not in response["Location"]
    return client.get(response["Location"])
