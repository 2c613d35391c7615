"""Plain-text tables that line up in a terminal even with Chinese in them.

A Chinese character takes two terminal columns, so padding must count display width, not
len(): len("绘制直线") is 4 but it covers 8 columns.
"""
import unicodedata


def display_width(text):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _pad(text, width, align):
    gap = " " * (width - display_width(text))
    return gap + text if align == ">" else text + gap


def format_table(headers, rows, align=None):
    """Rows of cells under headers, columns separated by two spaces; align is a string of '<'/'>'."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "<" * len(headers)
    lines = ["  ".join(_pad(c, w, a) for c, w, a in zip(row, widths, align)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_value(value):
    """A metric as a short string: floats to 6 significant digits, everything else as is."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
