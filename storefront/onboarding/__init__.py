"""Onboarding villages in bulk: the office's JSON import of villages, products and papers
(``flask catalog import``) and the demo catalogue built on it."""
