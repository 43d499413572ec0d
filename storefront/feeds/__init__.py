"""A village's order feeds: Atom, JSON Feed 1.1 and CSV at a secret address it can rotate."""
