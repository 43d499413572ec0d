"""The listing rule and what follows from it: which products may be shown and sold today
(``rule``), why a product is hidden (``states``), and telling the office when one stops being
sold (``notices``). It sits above the models it reads (catalogue, villages, legality papers);
every page, feed, API, cart and checkout imports it, and it imports none of them."""
