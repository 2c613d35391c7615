"""Small HTML pieces shared by the pages: escaping, the page frame, the sidebar, badges, numbers."""
import html

SITE_TITLE = ("机器学习系列", "Machine Learning Series")


def e(text):
    return html.escape(str(text), quote=True)


def status(run):
    """'pass', 'fail' or 'none' (not run, or a run with no targets counts as passed if it ran)."""
    if run is None:
        return "none"
    return "fail" if run.passed is False else "pass"


BADGE_TEXT = {"pass": "PASS", "fail": "FAIL", "none": "未运行 / not run", "coming": "即将推出 / coming"}


def badge(state):
    return f'<span class="badge {e(state)}">{e(BADGE_TEXT[state])}</span>'


def dot(state, label=None):
    label = label or BADGE_TEXT[state]
    return f'<span class="dot {e(state)}" role="img" aria-label="{e(label)}" title="{e(label)}"></span>'


def short_title(title):
    """The part of a lesson title before its colon: "绘制直线：传统解法…" -> "绘制直线"."""
    for mark in ("：", ": "):
        if mark in title:
            return title.split(mark, 1)[0]
    return title


def number(value):
    """A metric for a reader: 4 significant digits, scientific when tiny or huge."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value == 0:
            return "0"
        if abs(value) < 1e-3 or abs(value) >= 1e6:
            return f"{value:.2e}".replace("e-0", "e-").replace("e+0", "e+")
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(number(v) for v in value[:6])
        return f"[{shown}{', …' if len(value) > 6 else ''}]"
    return str(value)


def sidebar(contents, runs, prefix, current=None):
    """The table of contents: every chapter and lab with its lessons, each with its status dot."""
    parts = [f'<nav class="sidebar" aria-label="目录 / Contents"><a class="home" href="{prefix}index.html">'
             f'{e(SITE_TITLE[0])}<br><span class="en">{e(SITE_TITLE[1])}</span></a>',
             '<details open><summary>目录 / Contents</summary><ol class="toc">']
    coming_labs = []
    for group in contents.groups():
        if group.kind == "lab" and not group.lessons:
            coming_labs.append(group.id)
            continue
        parts.append(f'<li><div class="group"><a href="{prefix}index.html#{e(group.id)}">{e(group.id)} '
                     f'{e(group.title_zh)}</a></div>')
        if not group.lessons:
            parts.append(f'<span class="coming">{e(BADGE_TEXT["coming"])}</span></li>')
            continue
        parts.append("<ol>")
        for les in group.lessons:
            here = ' aria-current="page"' if current is not None and les.id == current.id else ""
            parts.append(f'<li><a href="{prefix}{e(les.id)}/index.html"{here}>{dot(status(runs.get(les.id)))}'
                         f'<span>{e(les.id)} {e(short_title(les.title_zh))}</span></a></li>')
        parts.append("</ol></li>")
    if coming_labs:
        parts.append(f'<li><div class="group"><a href="{prefix}index.html#labs">实验 / Labs</a></div>'
                     f'<span class="coming">{e(coming_labs[0])}–{e(coming_labs[-1])}: '
                     f'{e(BADGE_TEXT["coming"])}</span></li>')
    parts.append("</ol></details></nav>")
    return "\n".join(parts)


def page(title, body, nav, prefix, description=""):
    """A whole HTML document: the sidebar beside the main column, one stylesheet, one script."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<meta name="description" content="{e(description)}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{prefix}assets/site.css">
<link rel="stylesheet" href="{prefix}assets/code.css">
</head>
<body>
<div class="layout">
{nav}
<main>
{body}
</main>
</div>
<script src="{prefix}assets/site.js"></script>
</body>
</html>
"""
