"""Markdown for the texts the office writes, shown with no HTML of its own.

markdown-it-py (CommonMark) with its ``js-default`` preset: HTML typed into the text is not
HTML but text (``<script>`` shows as ``&lt;script&gt;``), and a link may not lead to
``javascript:``, ``vbscript:``, ``file:`` or ``data:`` (it stays text). On top of that:

- no images: the page's Content-Security-Policy loads none from other sites, and the shop's own
  photos belong to products;
- no heading above ``<h2>``: the page's ``<h1>`` is its title (``#`` makes an ``<h2>`` as
  ``##`` does);
- tables say which cells head their columns (``<th scope="col">``) and carry no ``style``
  attribute (the policy allows none): alignment marks in the text are dropped.
"""
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("js-default").disable("image")

#: The longest text the office may save (a long page is about 6,000 characters).
MAX_BODY = 20_000


def _fit(tokens):
    """Make headings start at ``<h2>`` and table cells safe and accessible, in place."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{max(int(token.tag[1]), 2)}"
        elif token.type in ("th_open", "td_open"):
            token.attrs.pop("style", None)
            if token.type == "th_open":
                token.attrSet("scope", "col")
        if token.children:
            _fit(token.children)
    return tokens


@lru_cache(maxsize=64)
def render_markdown(source):
    """The HTML of ``source`` (Markdown), safe to put on a page as it is."""
    tokens = _fit(_md.parse(source or ""))
    return Markup(_md.renderer.render(tokens, _md.options, {}))
