"""Consent receipts (ISO/IEC TS 27560:2023, JSON-LD with the W3C DPV): written from the sealed
consent change records (serialize), verified against the audit chain (verify), read back from
other systems' receipts (read: imports use it). The @context ships here (context.jsonld) and is
never fetched (jsonld)."""
