"""Finds what a Content-Security-Policy without 'unsafe-inline' would block in an HTML page."""

from html.parser import HTMLParser


class _InlineCodeFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") not in ("application/json",):
            self._in_inline_script = True
        if tag == "style":
            self.found.append("<style> block")
        for name, _ in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> event handler")
            if name == "style":
                self.found.append(f"<{tag} style=...> attribute")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:80]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(html: str) -> list[str]:
    finder = _InlineCodeFinder()
    finder.feed(html)
    return finder.found
