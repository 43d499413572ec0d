"""Partner marketplaces (NTT Mart and others): their accounts and API keys, the audit of what
each key read, and the catalogue snapshot that tells them what changed (``changed_since`` and
the ``product.*`` webhooks). See docs/partners.md."""
