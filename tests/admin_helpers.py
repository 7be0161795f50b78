"""Driving the admin as a browser does."""

from core.history import AUDIT_FAMILIES, audit_setting


def admin_search(client, url: str, term: str, **params):
    """Search a changelist through its search box: the term is posted, the list URL names only a
    random key (staff.admin_tools.PostedSearchMixin). Returns the list page it leads to."""
    from urllib.parse import urlencode

    target = f"{url}?{urlencode(params)}" if params else url
    response = client.post(target, {"q": term})
    assert response.status_code == 302, response.status_code
    assert term not in response["Location"]
    return client.get(response["Location"])


# The compliance settings form as the browser posts it, with the values a new installation has.
SETTINGS_FORM = {
    "data_protection_tools_enabled": "on",  # a checkbox left out of a post is "off"
    "double_opt_in_expiry_hours": "72",
    "age_of_consent": "16",
    "request_response_days": "30",
    "request_clock_starts_at": "receipt",
    "access_log_retention_days": "730",
    "interaction_retention_days": "365",
    "export_link_days": "7",
    "segment_export_retention_days": "30",
    "import_upload_retention_days": "30",
}
# Every history family is audited on a new installation.
SETTINGS_FORM.update({audit_setting(family): "on" for family in AUDIT_FAMILIES})
