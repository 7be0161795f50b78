"""Segments, customer journeys and lead scoring, all picking contacts through consent.selectors."""
