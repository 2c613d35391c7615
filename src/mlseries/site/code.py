"""A lesson's source as highlighted HTML, with Pygments (plain escaped text if it is missing).

Highlighting is done once, at build time, into <span class="..."> tags, and the colours come from
one stylesheet the site writes (`stylesheet()`): the pages need no JavaScript for it.
"""
import html

try:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
except ImportError:  # the site still builds; the code is just not coloured
    highlight = None

_CSS_SCOPE = ".code"


def highlight_python(source):
    """<pre> of `source` with line numbers as anchors (#L12), highlighted when Pygments exists."""
    if highlight is None:
        lines = html.escape(source).splitlines()
        body = "\n".join(f'<span id="L{i}">{line}</span>' for i, line in enumerate(lines, 1))
        return f'<div class="code"><pre>{body}</pre></div>'
    formatter = HtmlFormatter(cssclass="code", linenos="inline", lineanchors="L", anchorlinenos=False,
                              wrapcode=True)
    return highlight(source, PythonLexer(), formatter)


def stylesheet():
    """The CSS for the highlighted code (light theme, one rule per token kind)."""
    if highlight is None:
        return ""
    return HtmlFormatter(style="friendly").get_style_defs(_CSS_SCOPE)
