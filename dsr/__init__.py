"""Data subject requests and the personal-data registry every app registers in."""
