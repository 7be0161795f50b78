"""dsr's back office, one module per screen: requests (the officer's queue and its decisions),
bundles (the review of an export), erasures (the proof of each erasure), and staff members' own
requests (dsr.staff_admin). Importing them registers
them (admin autodiscovery imports this package)."""

from dsr.admin.bundles import ExportBundleAdmin
from dsr.admin.erasures import ErasureRecordAdmin
from dsr.admin.requests import DataSubjectRequestAdmin
from dsr.staff_admin import StaffUserAdmin

__all__ = ["DataSubjectRequestAdmin", "ErasureRecordAdmin", "ExportBundleAdmin", "StaffUserAdmin"]
