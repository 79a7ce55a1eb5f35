"""veille ingest service.

Collects mentions of watched brands (feeds, webhooks, files, social timelines, employee reviews),
normalises and de-duplicates them into mentions-raw.
"""
