"""The pages every shop has: about the programme, how to buy, how to pay, shipping, returns and
complaints, privacy, terms. Their texts live in the database so the office can change them
without a deploy (``services.py``); until it does, the shop shows its default texts
(``defaults/``). The office writes Markdown, shown through ``markup.py`` with no HTML of its own."""
