"""Email bodies as the plain text an agent reads: HTML reduced, quoted history trimmed.

Customers' mail clients send HTML (often only HTML) and repeat the whole
thread under every reply. `html_to_text` turns HTML into plain text with the
stdlib parser: markup, scripts, styles and the quoted history the big
clients mark up (Gmail's `gmail_quote`, Apple Mail's `<blockquote
type="cite">`, Outlook's reply header block) are dropped, entities decoded,
links kept as "label (url)". Nothing of the HTML survives as markup, so the
result is safe to show anywhere text is shown. `trim_quoted` then cuts the
plain-text forms of quoting: "On ... wrote:" lines, "> " lines and
Outlook's "-----Original Message-----" / "From: ... Sent: ..." blocks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never text a person wrote.
_DROPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
# Elements that start and end on a line of their own...
_LINES = frozenset(
    {"address", "dd", "div", "dt", "figcaption", "footer", "header", "li", "nav", "tr"}
)
# ...and those set apart by a blank line, like paragraphs.
_PARAGRAPHS = frozenset(
    {
        "article",
        "aside",
        "blockquote",
        "dl",
        "fieldset",
        "figure",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    }
)
# Elements without an end tag: they never open a level of nesting.
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# Containers the big mail clients put the quoted thread in.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")


def _is_quote_container(tag: str, attrs: dict[str, str]) -> bool:
    classes = attrs.get("class", "").lower().split()
    if any(name in classes for name in _QUOTE_CLASSES):
        return True
    if attrs.get("id", "").lower() in _QUOTE_IDS:
        return True
    return tag == "blockquote" and attrs.get("type", "").lower() == "cite"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        # Entities and character references are decoded by the parser itself.
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # While > 0 we are inside a dropped element; counts open elements.
        self._skip_depth = 0
        self._pre_depth = 0
        self._link: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in attrs_list}
        if self._skip_depth:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        if tag in _DROPPED or _is_quote_container(tag, attrs):
            if tag not in _VOID:
                self._skip_depth = 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _LINES or tag in _PARAGRAPHS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            if tag == "li":
                self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "pre":
            self._pre_depth += 1
        if tag == "a":
            self._link = (attrs.get("href", "").strip(), len(self.parts))

    def handle_startendtag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        # <br/> and friends: a start with no content, never a nesting level.
        if self._skip_depth:
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _LINES or tag in _PARAGRAPHS:
            self._break(2 if tag in _PARAGRAPHS else 1)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag not in _VOID:
                self._skip_depth -= 1
            return
        if tag in _LINES or tag in _PARAGRAPHS:
            self._break(2 if tag in _PARAGRAPHS else 1)
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        if tag == "a" and self._link is not None:
            href, start = self._link
            self._link = None
            label = "".join(self.parts[start:]).strip()
            target = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
            # Keep where a link pointed, as text: "label (https://...)".
            if (
                target
                and href.lower().startswith(("http://", "https://", "mailto:"))
                and target not in label
            ):
                self.parts.append(f" ({target})" if label else target)

    def _break(self, newlines: int) -> None:
        """End the current line, with `newlines` - 1 blank lines after it at most."""
        tail = "".join(self.parts[-4:])
        have = len(tail) - len(tail.rstrip("\n"))
        if self.parts and have < newlines:
            self.parts.append("\n" * (newlines - have))

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            self.parts.append(data)
        else:
            # HTML collapses runs of whitespace (newlines included) to one space,
            # and a line starts at its first visible character.
            collapsed = re.sub(r"\s+", " ", data)
            if not self.parts or self.parts[-1].endswith("\n"):
                collapsed = collapsed.lstrip()
            if collapsed:
                self.parts.append(collapsed)

    def text(self) -> str:
        return "".join(self.parts)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: no markup, no scripts or styles, no quoted thread."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy(parser.text())


def tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no outer blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    joined = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


# "On Tue, 2 Jan 2024 at 10:00, Ana <ana@example.com> wrote:" and its
# translations in the languages our customers write in.
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.+\swrote|Em\s.+\sescreveu|El\s.+\sescribió|Le\s.+\sa\s+écrit"
    r"|Am\s.+\sschrieb|Il\s.+\sha\s+scritto|Op\s.+\sschreef)\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Mensagem original|Mensaje original|Message d'origine"
    r"|Ursprüngliche Nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|De|Von)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_FIELD = re.compile(
    r"^\s*\*?(Sent|Date|Enviado|Enviada|Data|Gesendet|Envoyé)\s*:", re.IGNORECASE
)
# A forward the customer chose to send is content, not quoted history.
_FORWARD_MARK = re.compile(
    r"(Forwarded message|Begin forwarded message|Mensagem encaminhada|Mensaje reenviado"
    r"|Message transféré|Weitergeleitete Nachricht)",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")


def _quote_starts_at(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _ORIGINAL_MESSAGE.match(line):
        return True
    # Gmail wraps a long attribution over two lines.
    pair = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
    if _ATTRIBUTION.match(line) or (line.strip() and _ATTRIBUTION.match(pair)):
        return True
    if _UNDERSCORES.match(line) and any(_OUTLOOK_FROM.match(x) for x in lines[i + 1 : i + 3]):
        return True
    # Outlook's header block: "From: ..." followed closely by "Sent:"/"Date:".
    return bool(
        _OUTLOOK_FROM.match(line)
        and any(_OUTLOOK_FIELD.match(x) for x in lines[i + 1 : i + 4])
        and not any(_FORWARD_MARK.search(x) for x in lines[max(i - 2, 0) : i])
    )


def trim_quoted(text: str) -> str:
    """The new part of a reply: quoted history and its attribution line cut off.

    Falls back to the whole text when everything in it is quoted (a bare
    forward): an empty message would lose what the customer sent.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _quote_starts_at(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    trimmed = tidy("\n".join(kept))
    return trimmed or tidy(text)
