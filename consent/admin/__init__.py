"""Consent's back office, one module per screen: records (purposes, consent change records),
contacts (the contact form, which writes consent), levels (the levels' wording), settings (compliance settings, snapshots).
Importing them registers them (admin autodiscovery imports this package)."""

from consent.admin.contacts import ContactAdmin
from consent.admin.levels import LevelWordingAdmin
from consent.admin.records import ConsentChangeAdmin, ConsentChangeColumns, PurposeAdmin
from consent.admin.settings import ComplianceSettingsAdmin, ConsentLevelSnapshotAdmin

__all__ = [
    "ComplianceSettingsAdmin",
    "ConsentChangeAdmin",
    "ConsentChangeColumns",
    "ConsentLevelSnapshotAdmin",
    "ContactAdmin",
    "LevelWordingAdmin",
    "PurposeAdmin",
]
