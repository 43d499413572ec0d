"""The money side: what each village earned, what it was paid, and through which account.

A village's money is an append-only ledger of whole-rupiah entries in two buckets: *pending*
(paid by the buyer, not yet delivered) and *available* (earned, waiting for a payout). Nothing
here knows about orders: the orders package calls in with plain figures, so the dependency runs
one way.
"""
