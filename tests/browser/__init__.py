"""Journeys and accessibility through a real browser (Chromium, driven by Playwright)."""
