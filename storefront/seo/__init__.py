"""What search engines, chat apps and marketplaces read: canonical and language links, JSON-LD,
Open Graph cards, sitemaps, ``robots.txt`` and product feeds (Google Merchant Center, Meta).

Everything listed here comes through the listing rule (``storefront/listing/rule.py``), and every
absolute address is built on ``PUBLIC_URL`` (``storefront/urls.py``), never on the request's host.
"""
