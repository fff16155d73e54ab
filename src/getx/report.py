"""A self-contained HTML report: figures inlined as SVG, tables as HTML, no scripts, no CDN.

``write_report(path, title, sections)`` takes :class:`Section` objects, each a heading with any
mix of paragraphs, tables (DataFrames) and figures (matplotlib), so the demo and any later stage
(interpretation) add sections without touching the page layout.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from getx.io.files import atomic_output

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #1a202c; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #e2e8f0; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #e2e8f0; padding: 0.25em 0.6em; text-align: right; }
th { background: #f7fafc; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #4a5568; }
.note { color: #4a5568; font-size: 0.9em; }
"""


@dataclass
class Section:
    """A heading and its content, in order: ``str`` paragraphs, DataFrames, figures."""

    title: str
    items: list[Any] = field(default_factory=list)
    captions: dict[int, str] = field(default_factory=dict)  # item index -> caption

    def add(self, item: Any, caption: str | None = None) -> Section:
        if caption:
            self.captions[len(self.items)] = caption
        self.items.append(item)
        return self


def figure_svg(fig: Any) -> str:
    """A matplotlib figure as an inline ``<svg>`` element."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def table_html(table: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a plain HTML table, floats rounded."""
    return table.to_html(
        index=False, float_format=lambda v: f"{v:.{digits}f}", border=0, na_rep="–"
    )


def _render(item: Any) -> str:
    if isinstance(item, str):
        return f"<p>{html.escape(item)}</p>"
    if isinstance(item, pd.DataFrame):
        return table_html(item)
    if hasattr(item, "savefig"):
        return figure_svg(item)
    raise TypeError(f"cannot render {type(item).__name__} in a report")


def render(title: str, sections: list[Section], subtitle: str = "") -> str:
    """The whole page as a string."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="note">{html.escape(subtitle)}</p>')
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        for i, item in enumerate(section.items):
            body = _render(item)
            caption = section.captions.get(i)
            if caption:
                body = f"<figure>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"
            parts.append(body)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, title: str, sections: list[Section], subtitle: str = "") -> Path:
    """Write the page atomically; returns its path."""
    path = Path(path)
    page = render(title, sections, subtitle)
    with atomic_output(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return path
