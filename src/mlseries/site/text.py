"""A lesson's explanation, from its module docstring, as HTML.

The docstrings are written as plain text with a few habits, and this turns exactly those into
HTML (it is not a Markdown implementation, and needs none):

- the first line "ch07.cnn — 卷积神经网络 / A convolutional network ..." is the page's subtitle;
- blank lines separate paragraphs;
- lines starting "- " make a list, "1. " a numbered list; an indented line continues an item;
- a block indented by four spaces (after a blank line) is code, e.g. the command that runs it;
- `code`, **bold** and *emphasis* inline.
"""
import html
import re

_INLINE = [
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])"), r"<em>\1</em>"),
]
_ITEM = re.compile(r"^(- |\d+\. )")


def inline(text):
    """Escape text for HTML, then mark up `code`, **bold** and *emphasis*."""
    out = html.escape(text, quote=False)
    # code first, and keep its content away from the other rules
    pieces = re.split(r"(`[^`]+`)", out)
    for i, piece in enumerate(pieces):
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            pieces[i] = f"<code>{piece[1:-1]}</code>"
        else:
            for pattern, repl in _INLINE:
                piece = pattern.sub(repl, piece)
            pieces[i] = piece
    return "".join(pieces)


def split_docstring(doc):
    """(subtitle, body): the first line after the id and dash, and the rest."""
    doc = (doc or "").strip("\n")
    first, _, body = doc.partition("\n")
    subtitle = re.sub(r"^\S+\s+[—-]\s+", "", first.strip())
    return subtitle, body


def _blocks(lines):
    """Group lines into (kind, lines) blocks: 'code', 'ul', 'ol' or 'p'."""
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith("    "):  # a block starts after a blank line: indented means code
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            blocks.append(("code", block))
            continue
        match = _ITEM.match(line)
        if match:
            kind = "ul" if match.group(1) == "- " else "ol"
            items = []
            while i < len(lines) and lines[i].strip():
                m = _ITEM.match(lines[i])
                if m:
                    items.append(lines[i][m.end():].strip())
                elif items:
                    items[-1] += " " + lines[i].strip()   # a wrapped item
                i += 1
            blocks.append((kind, items))
            continue
        block = []
        while i < len(lines) and lines[i].strip() and not _ITEM.match(lines[i]):
            block.append(lines[i].strip())
            i += 1
        blocks.append(("p", block))
    return blocks


def to_html(text):
    """The body of a docstring as HTML paragraphs, lists and code blocks."""
    parts = []
    for kind, lines in _blocks(text.splitlines()):
        if kind == "code":
            parts.append("<pre class=\"doc-code\"><code>" + html.escape("\n".join(lines)) + "</code></pre>")
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{inline(item)}</li>" for item in lines)
            parts.append(f"<{kind}>{items}</{kind}>")
        else:
            parts.append(f"<p>{inline(' '.join(lines))}</p>")
    return "\n".join(parts)
