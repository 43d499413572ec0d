"""The impact report: what the shop's sales brought to the villages, for the office (with CSV)
and for everyone (``/dampak``, aggregates only, no personal data), with server-drawn charts."""
