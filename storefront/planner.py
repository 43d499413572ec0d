"""Fresh planner statistics after a bulk load.

PostgreSQL plans every query from statistics that ``ANALYZE`` gathers. Autovacuum gathers them
on its own, but only a while after a load: until then the tables look empty, and the catalogue
pages took 0.2-1.4 s instead of 30-40 ms right after ``flask catalog generate`` at national scale
(bench/RESULTS.md). So a bulk load (the generator, an import) ends by asking for them itself.
SQLite keeps no statistics unless asked, and plans well without: nothing is done there.
"""
from .extensions import db


def refresh_statistics(*tables):
    """``ANALYZE`` these tables (``Table`` objects or names) on PostgreSQL, after the load has
    committed; it samples at most 30,000 rows a table, a fraction of a second even at national
    scale. Nothing on other databases."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {quote(getattr(table, 'name', table))}")
