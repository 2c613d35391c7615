"""The tour's index.html: every lesson's figures, animations and metrics on one page."""
import html
import os
from pathlib import Path

from .table import format_value

_STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
h3 .id { font-family: monospace; color: #666; margin-right: .6em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 90%; }
td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
td.num { text-align: right; font-family: monospace; }
.pass { color: #1a7f37; } .fail { color: #cf222e; font-weight: bold; }
figure { display: inline-block; margin: .5em; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 85%; color: #666; text-align: center; }
"""


def _e(text):
    return html.escape(str(text))


def _lesson_section(result, root):
    les = result.lesson
    parts = [f'<section id="{_e(les.id)}"><h3><span class="id">{_e(les.id)}</span>'
             f'{_e(les.title_zh)} · {_e(les.title_en)}</h3>',
             f"<p>{result.seconds:.2f} s (quick mode)</p>"]
    if result.checks:
        rows = "".join(f'<tr><td>{_e(k)}</td><td class="{"pass" if ok else "fail"}">'
                       f'{"PASS" if ok else "FAIL"}</td></tr>' for k, ok in result.checks.items())
        parts.append(f"<table><tr><th>target</th><th>result</th></tr>{rows}</table>")
    rows = "".join(f'<tr><td>{_e(k)}</td><td class="num">{_e(format_value(v))}</td></tr>'
                   for k, v in result.metrics.items())
    parts.append(f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>")
    for path in result.files:
        if path.suffix.lower() in (".png", ".gif", ".jpg", ".svg"):
            src = Path(os.path.relpath(path, root)).as_posix()
            parts.append(f'<figure><img src="{_e(src)}" alt="{_e(path.name)}" loading="lazy">'
                         f"<figcaption>{_e(path.name)}</figcaption></figure>")
    parts.append("</section>")
    return "\n".join(parts)


def write_index(sections, path):
    """Write an HTML page at `path`; `sections` is [(title_zh, title_en, [LessonResult])]."""
    path = Path(path)
    root = path.parent
    body = ["<h1>机器学习系列 · Machine Learning Series</h1>",
            "<p>Every lesson of the 7-day track, run in quick mode by <code>mlseries tour</code>.</p>"]
    for title_zh, title_en, results in sections:
        body.append(f"<h2>{_e(title_zh)} · {_e(title_en)}</h2>")
        body.extend(_lesson_section(r, root) for r in results)
    page = ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            "<title>mlseries tour</title>\n"
            f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
