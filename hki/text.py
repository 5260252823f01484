"""Plain text as users typed it, shown with its shape: paragraphs, line breaks, lists.

Descriptions, notes and comments are stored as plain text, often pasted from Word with
"• " or "1." lines. HTML collapses their line breaks, so a list reads "• A • B • C" on a
page and in the PDF. These filters give the text its shape back without ever letting
markup from users through: every character of the text is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

#: A bullet as typed or pasted: a marker, then whitespace. "o" only before a tab, as Word
#: pastes its second level; "o " at the start of a German line is too rare to risk.
_BULLET = re.compile(r"(?:[•·▪◦‣●■□➢►\-–—*]\s|o\t)\s*(?P<text>.*)")
#: A numbered line: "1." or "1)", then whitespace; "1.1.2024" or "30.6." are not.
_NUMBERED = re.compile(r"(?P<n>\d{1,3})[.)]\s+(?P<text>.*)")


@dataclass
class _Block:
    """One paragraph (kind "p") or list ("ul", "ol"); a list item may hold several lines."""

    kind: str
    lines: list[list[str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)


def _lines(text: str) -> list[str]:
    r"""Split on every kind of line break: \r\n, \r, \n and Word's soft break \x0b."""
    return text.splitlines()


def _blocks(text: str) -> list[_Block]:
    """Group lines into paragraphs and lists.

    A marker line starts or continues a list, also across blank lines (Word pastes its
    paragraph spacing as those); an indented line without a marker continues the item
    above it; any other line ends the list, and a blank line ends a paragraph. Numbered
    lines make a list only from two on, so a lone "30. Juni …" stays text.
    """
    blocks: list[_Block] = []
    current: _Block | None = None
    gap = False
    lines = _lines(text)
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            gap = True
            continue
        bullet = _BULLET.fullmatch(line)
        numbered = _NUMBERED.fullmatch(line)
        if numbered and not (current and current.kind == "ol") and not _numbered_follows(
                lines[i + 1:]):
            numbered = None
        match = bullet or numbered
        if match is not None:
            kind = "ul" if bullet else "ol"
            if current is None or current.kind != kind:
                current = _Block(kind)
                blocks.append(current)
            current.lines.append([match["text"]] if match["text"] else [])
            if numbered:
                current.numbers.append(int(numbered["n"]))
        elif current is not None and current.kind != "p" and not gap and raw[:1].isspace():
            current.lines[-1].append(line)
        else:
            if current is None or current.kind != "p" or gap:
                current = _Block("p", [[]])
                blocks.append(current)
            current.lines[0].append(line)
        gap = False
    return blocks


def _numbered_follows(rest: list[str]) -> bool:
    """Whether the next numbered-or-plain line after continuations and gaps is numbered."""
    for raw in rest:
        line = raw.strip()
        if _NUMBERED.fullmatch(line):
            return True
        if line and not raw[:1].isspace():
            return False
    return False


def _joined(lines: list[str]) -> Markup:
    """Escaped lines kept apart by ``<br>``."""
    return Markup("<br>\n").join(escape(line) for line in lines)


def absaetze(text: str | None, lead: str = "") -> Markup:
    """Render a plain text as escaped block HTML: ``<p>`` with ``<br>``, ``<ul>``, ``<ol>``.

    The result is block-level: put it in a ``<div>``, never inside a ``<p>``.

    :param text: the text as stored; ``None`` or blank gives empty markup.
    :param lead: inline markup (a label) that opens the first paragraph, so "Sachstand:"
        stays on the line of the text it introduces; escaped unless it is ``Markup``.
    :return: safe markup; nothing of ``text`` is interpreted as HTML.
    """
    blocks = _blocks(text or "")
    if not blocks:
        return Markup("")
    out: list[Markup] = []
    if lead:
        if blocks[0].kind == "p":
            blocks[0].lines[0][0] = escape(lead) + Markup(" ") + escape(blocks[0].lines[0][0])
        else:
            out.append(Markup("<p>{}</p>").format(escape(lead)))
    for block in blocks:
        if block.kind == "p":
            out.append(Markup("<p>{}</p>").format(_joined(block.lines[0])))
        else:
            out.append(_list(block))
    return Markup("\n").join(out)


def _list(block: _Block) -> Markup:
    """A ``<ul>`` or ``<ol>``; an ``<ol>`` keeps the user's numbers (``start``, ``value``)."""
    items = [_joined(item) for item in block.lines]
    if block.kind == "ul":
        return Markup("<ul>{}</ul>").format(_items(items))
    start = block.numbers[0]
    if block.numbers == list(range(start, start + len(block.numbers))):
        opening = Markup("<ol>") if start == 1 else Markup('<ol start="{}">').format(start)
        return opening + _items(items) + Markup("</ol>")
    numbered = (Markup('<li value="{}">{}</li>').format(n, item)
                for n, item in zip(block.numbers, items, strict=True))
    return Markup("<ol>{}</ol>").format(Markup("\n").join(numbered))


def _items(items: list[Markup]) -> Markup:
    """List items, one a line."""
    return Markup("\n").join(Markup("<li>{}</li>").format(item) for item in items)


def einzeilig(text: str | None) -> str:
    """Render a plain text on one line, for a reason inside a sentence or a list item.

    Lines and paragraphs are joined with " / " (with a space only after a line ending in
    ":"), bullet markers dropped, numbers kept. Plain text: Jinja escapes it.
    """
    parts: list[str] = []
    for raw in _lines(text or ""):
        line = raw.strip()
        if not line:
            continue
        bullet = _BULLET.fullmatch(line)
        line = bullet["text"] if bullet else line
        if line:
            parts.append(line if not parts else (" " if parts[-1].endswith(":") else " / ") + line)
    return "".join(parts)


#: How council papers are named; a reference that starts with one of these is shown as is.
_PAPER_WORDS = re.compile(r"^\s*(\w*vorlage|vorl\.|\w*drucksache|drs\b|ds\b|bv\b)",
                          re.IGNORECASE)


def vorlage(reference: str | None) -> str:
    """"Vorlage 2020/117" for "2020/117", but "Vorlage Nr. 17" as typed, never twice."""
    text = (reference or "").strip()
    if not text or _PAPER_WORDS.match(text):
        return text
    return f"Vorlage {text}"
