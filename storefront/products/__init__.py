"""What villages sell: products, categories and photos (``models``), a village's own listings
(``listings``) and the office's review of what a product is (``review``). Below the listing
rule; the public catalogue (``catalog``) sits above it."""
