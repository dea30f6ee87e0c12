"""kb's Datasette plugin, registered through the ``datasette`` entry point.

Search snippets come from crawled text, which is data and never HTML: the
canned queries mark matched terms with ``**`` (readable in JSON and CSV),
and this plugin shows them as <mark> in the UI after escaping the text.
"""

from __future__ import annotations

import re

from datasette import hookimpl
from markupsafe import Markup, escape

SNIPPET_COLUMNS = {"snippet"}
_MARKED = re.compile(r"\*\*(.+?)\*\*", re.S)


@hookimpl
def render_cell(value, column):
    if column not in SNIPPET_COLUMNS or not isinstance(value, str):
        return None
    return Markup(_MARKED.sub(r"<mark>\1</mark>", str(escape(value))))
