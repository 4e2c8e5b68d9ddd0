"""Plain text from small HTML fragments (forum posts); lists become numbered or bulleted lines."""

from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "aside"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.lists: list[list[int]] = []  # stack of [is_ordered, counter]
        self.skip = 0
        self.indent = ""  # nested list items are indented under their parent item

    def _newline(self) -> None:
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.append(self.indent + line)
        self.current = []
        self.indent = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("ol", "ul"):
            self._newline()
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li":
            self._newline()
            self.indent = "   " * (len(self.lists) - 1)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.current.append(f"{self.lists[-1][1]}. ")
            else:
                self.current.append("- ")
        elif tag in _BLOCKS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("ol", "ul"):
            self._newline()
            if self.lists:
                self.lists.pop()
        elif tag in _BLOCKS or tag == "li":
            self._newline()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    parser._newline()
    return "\n".join(parser.lines)
