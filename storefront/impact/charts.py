"""Bar charts of the impact report, drawn on the server as SVG by pygal.

A chart is a file of its own (``<img src=... alt=...>`` on the page, followed by a table with
the same numbers), so it needs no JavaScript and the pages keep their strict
Content-Security-Policy. pygal's SVG would load its tooltip script from the internet: ``js=[]``
drops that, and ``_static_only`` removes the inline configuration script and the tooltip layer
it leaves, and its comments. What remains is shapes, text and one ``<style>`` element; the
chart's own policy (``Chart.content_security_policy``) allows exactly that style, by its hash,
and nothing else: no script, no font, no image, no request at all.
"""
import base64
import hashlib
from dataclasses import dataclass

import pygal
from babel.numbers import format_compact_decimal
from flask_babel import get_locale, gettext as _
from pygal.etree import etree
from pygal.style import Style

from ..money import format_idr

#: The shop's colours (static/shop.css) and the system's own fonts: nothing to download.
STYLE = Style(
    background="#fffdf8", plot_background="#fffdf8", foreground="#1f1a17", foreground_strong="#1f1a17",
    foreground_subtle="#e3d9cc", colors=("#7a2e1d",), opacity="1", opacity_hover="1", transition="0ms",
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif',
    title_font_size=20, label_font_size=16, major_label_font_size=16, value_font_size=16,
    no_data_font_size=22, tooltip_font_size=16,
)
WIDTH = 560


@dataclass(frozen=True)
class Chart:
    """A rendered chart: the SVG document and the policy to serve it with."""

    svg: bytes
    style_hashes: tuple

    @property
    def content_security_policy(self):
        styles = " ".join(f"'sha256-{digest}'" for digest in self.style_hashes) or "'none'"
        return (f"default-src 'none'; style-src {styles}; frame-ancestors 'none'; base-uri 'none'; "
                "form-action 'none'")


def _static_only(root):
    """pygal's SVG without what needs JavaScript: its scripts, the tooltip layer, comments."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            classes = (child.get("class") or "").split()
            if not tag or tag.rsplit("}", 1)[-1] == "script" or "tooltip-overlay" in classes:
                parent.remove(child)
    return root


def _style_hashes(root):
    styles = [node.text or "" for node in root.iter()
              if isinstance(node.tag, str) and node.tag.rsplit("}", 1)[-1] == "style"]
    return tuple(base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() for text in styles)


def short_idr(amount):
    """An axis label: ``Rp 1,2 jt`` (Indonesian) or ``Rp 1.2M`` (English)."""
    return "Rp " + format_compact_decimal(amount, locale=str(get_locale() or "id"), fraction_digits=1)


def chart_height(bars, horizontal=False):
    """The height of a chart of ``bars`` bars (its width is ``WIDTH``): what the page's
    ``<img height>`` says too, so nothing moves when the chart arrives."""
    return max(240, 110 + 34 * bars) if horizontal else 400


def bar_chart(title, labels, values, *, horizontal=False):
    """A one-series bar chart of rupiah amounts: ``labels`` along one axis, ``values`` (whole
    rupiah) as bars. Horizontal bars suit long names (regencies), listed from the top as given;
    vertical ones suit months, from the left."""
    labels, values = list(labels), list(values)
    if horizontal:  # pygal draws the first bar at the bottom
        labels.reverse()
        values.reverse()
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = chart_height(len(labels), horizontal)
    chart = kind(
        js=[], style=STYLE, width=WIDTH, height=height, title=title,
        show_legend=False, value_formatter=short_idr, truncate_label=-1, truncate_legend=-1,
        x_label_rotation=0 if horizontal or len(labels) <= 6 else 45, show_minor_x_labels=True,
        no_data_text=_("No payouts in this period"), include_x_axis=True, margin=12, margin_right=36,
        spacing=8, range=(0, max([*values, 0]) or 100000), max_scale=5 if horizontal else 8,
        explicit_size=True,
    )
    chart.x_labels = list(labels)
    chart.add(title, [int(value) for value in values], formatter=format_idr)
    root = _static_only(chart.render_tree())
    svg = b"<?xml version='1.0' encoding='utf-8'?>\n" + etree.tostring(root, encoding="utf-8")
    return Chart(svg=svg, style_hashes=_style_hashes(root))
