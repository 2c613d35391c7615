"""The two kinds of page: the home page (the series at a glance) and one page per lesson."""
from PIL import Image

from . import text
from .code import highlight_python
from .html import BADGE_TEXT, SITE_TITLE, badge, dot, e, number, page, short_title, sidebar, status

HEADLINE_COUNT = 4   # numbers shown when the recorded table names none


# ---------------------------------------------------------------- home

def _lesson_item(les, runs, prefix=""):
    state = status(runs.get(les.id))
    return (f'<li>{dot(state)}<span><a href="{prefix}{e(les.id)}/index.html">{e(les.id)}</a> '
            f'{e(short_title(les.title_zh))}<br><span class="en">{e(les.title_en)}</span></span></li>')


def _card(group, runs, heading):
    if not group.lessons and not group.missing:
        return (f'<div class="card coming" id="{e(group.id)}"><h3>{heading}</h3>'
                f'<p>{badge("coming")}</p></div>')
    items = [_lesson_item(les, runs) for les in group.lessons]
    items += [f'<li>{dot("none", BADGE_TEXT["coming"])}<span>{e(i)} <span class="en">'
              f'({e(BADGE_TEXT["coming"])})</span></span></li>' for i in group.missing]
    return f'<div class="card" id="{e(group.id)}"><h3>{heading}</h3><ul>{"".join(items)}</ul></div>'


def home_page(contents, runs, built_by):
    """`runs`: lesson id -> Run (or absent); `built_by`: the command that made the runs."""
    shown = [runs[les.id] for les in contents.lessons if les.id in runs]
    passed = sum(status(r) == "pass" for r in shown)
    failed = sum(status(r) == "fail" for r in shown)
    modes = sorted({"quick" if r.quick else "full" for r in shown})
    body = [f'<h1>{e(SITE_TITLE[0])} <span class="en">· {e(SITE_TITLE[1])}</span></h1>',
            '<p class="lead">机器学习系列的每一课都是一个可以运行的程序：在本项目从零写成的引擎上训练，'
            '给出自己的数字，画出自己的图。<br><span class="en">Every lesson of the series is a program you '
            'can run: it trains on this project\'s own from-scratch engine, measures its own numbers and draws '
            'its own figures.</span></p>',
            f'<p class="summary-line">{len(contents.lessons)} 课 / lessons · '
            f'{badge("pass")} {passed} · {badge("fail")} {failed} · '
            f'{badge("none")} {len(contents.lessons) - len(shown)}</p>',
            f'<p class="meta">本页由 <code>{e(built_by)}</code> 生成（{e(", ".join(modes) or "no")} 模式）。'
            f'<span class="en">Built by <code>{e(built_by)}</code> ({e(", ".join(modes) or "no")} runs). '
            'Each lesson\'s page has its explanation, figures, targets, numbers and code.</span></p>',
            '<h2 id="track">7 天速成 <span class="en">· The 7-day track</span></h2><div class="cards">']
    body += [_card(g, runs, f'{e(g.title_zh)}<br><span class="en">{e(g.title_en)}</span>')
             for g in contents.tracks]
    body.append('</div><h2 id="chapters">12 章综合指南 <span class="en">· The chapters</span></h2><div class="cards">')
    body += [_card(g, runs, f'<span class="id">{e(g.id)}</span> {e(g.title_zh)}<br>'
                            f'<span class="en">{e(g.title_en)}</span>') for g in contents.chapters]
    body.append('</div><h2 id="labs">实验 <span class="en">· The labs</span></h2>')
    if contents.labs:
        body.append('<div class="cards">')
        body += [_card(g, runs, f'<span class="id">{e(g.id)}</span> {e(g.title_zh)}<br>'
                                f'<span class="en">{e(g.title_en)}</span>') for g in contents.labs]
        body.append("</div>")
    else:
        body.append(f"<p>{badge('coming')}</p>")
    nav = sidebar(contents, runs, prefix="")
    return page(f"{SITE_TITLE[0]} · {SITE_TITLE[1]}", "\n".join(body), nav, prefix="",
                description="The Machine Learning Series as runnable lessons")


# ---------------------------------------------------------------- lesson

def _table(head, rows, classes):
    cells = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="{c}">{v}</td>' for v, c in zip(row, classes)) + "</tr>"
                   for row in rows)
    return f'<div class="table-wrap"><table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>'


def _numbers(run, recorded):
    """Headline numbers (this run beside the recorded full run), then every metric folded away."""
    names = list(recorded.metrics) if recorded else []
    if not names and run is not None:
        names = [k for k, v in run.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        names = names[:HEADLINE_COUNT]
    parts = ['<h2 id="numbers">数字 <span class="en">· Numbers</span></h2>']
    if not names and run is None:
        return ""
    mode = "quick" if run is not None and run.quick else "full"
    head = ["指标 / metric", f"本次运行 / this run ({mode})" if run is not None else "",
            "记录的完整运行 / recorded full run"]
    rows = []
    for name in names:
        value = run.metrics.get(name) if run is not None else None
        full = recorded.metrics.get(name, "–") if recorded else "–"
        here = number(value) if run is not None else ""
        if full.endswith("%") and isinstance(value, float) and abs(value) <= 1:
            here = f"{100 * value:.2f} %"   # the docs give this one in percent: show both alike
        full = e(full)
        rows.append((f"<code>{e(name)}</code>", e(here), full))
    if run is None:
        head, rows = [head[0], head[2]], [(r[0], r[2]) for r in rows]
    parts.append(_table(head, rows, ["name"] + ["num"] * (len(head) - 1)))
    if recorded:
        parts.append(f'<p class="meta">完整运行的命令 / full run: <code>{e(recorded.command)}</code>'
                     f'{" — " + e(recorded.note) if recorded.note else ""}</p>')
    if run is not None and run.metrics:
        rows = [(f"<code>{e(k)}</code>", e(number(v))) for k, v in run.metrics.items()]
        parts.append(f"<details><summary>全部 {len(rows)} 个指标 / all {len(rows)} metrics of this run</summary>"
                     + _table(["指标 / metric", "值 / value"], rows, ["name", "num"]) + "</details>")
    return "\n".join(parts)


def _targets(run):
    if run is None or not run.checks:
        return ""
    rows = [(e(target), badge("pass" if ok else "fail")) for target, ok in run.checks.items()]
    return ('<h2 id="targets">目标 <span class="en">· Targets</span></h2>'
            + _table(["目标 / target", "结果 / result"], rows, ["name", ""]))


def _caption(captions, name):
    found = captions.get(name)
    if found is None:
        return ""
    zh, en = found if isinstance(found, (tuple, list)) else ("", found)
    return (f"<span>{e(zh)}</span>" if zh else "") + f'<span class="en">{e(en)}</span>'


def _figures(run, captions):
    if run is None or not run.images:
        return ""
    parts = ['<h2 id="figures">图 <span class="en">· Figures</span></h2><div class="figures">']
    for name in run.images:
        try:
            with Image.open(run.folder / name) as image:
                width, height = image.size
        except OSError:
            continue
        caption = _caption(captions, name)
        alt = captions.get(name)
        alt = (alt[1] if isinstance(alt, (tuple, list)) else alt) or name
        # an animation is shown at least at its own size (up to the column), never shrunk to a thumbnail
        style = f' style="width:{width}px"' if name.lower().endswith(".gif") else ""
        parts.append(f'<figure id="fig-{e(name)}"><a class="zoom" href="{e(name)}">'
                     f'<img src="{e(name)}" width="{width}" height="{height}" alt="{e(alt)}"{style} '
                     f'loading="lazy" decoding="async"></a>'
                     f'<figcaption>{caption}<span class="file">{e(name)}</span></figcaption></figure>')
    parts.append("</div>")
    return "\n".join(parts)


def _downloads(run):
    if run is None or not run.downloads:
        return ""
    items = []
    for name in run.downloads:
        if name.lower().endswith(".wav"):
            items.append(f'<li><a href="{e(name)}">{e(name)}</a><br><audio controls preload="none" '
                         f'src="{e(name)}"></audio></li>')
        else:
            items.append(f'<li><a href="{e(name)}">{e(name)}</a></li>')
    return ('<h2 id="files">其他文件 <span class="en">· Other files</span></h2><ul>'
            + "".join(items) + "</ul>")


def _code(source):
    if source is None:
        return ""
    lines = source.text.count("\n") + 1
    return ('<h2 id="code">代码 <span class="en">· Code</span></h2>'
            f'<p>{e(source.repo_path)} · <a href="{e(source.copy_name)}">{e(source.copy_name)}</a> '
            f'<span class="meta">({lines} 行 / lines)</span></p>'
            f'<details><summary>展开代码 / show the code</summary>{highlight_python(source.text)}</details>')


def _pager(prev, nxt):
    left = (f'<a href="../{e(prev.id)}/index.html">← {e(prev.id)} {e(short_title(prev.title_zh))}</a>'
            if prev else "<span></span>")
    right = (f'<a href="../{e(nxt.id)}/index.html">{e(nxt.id)} {e(short_title(nxt.title_zh))} →</a>'
             if nxt else "<span></span>")
    return f'<nav class="pager" aria-label="上一课 / 下一课">{left}{right}</nav>'


def lesson_page(les, contents, runs, recorded, source, prev, nxt):
    """`source`: the lesson's LessonSource (doc, captions, code), or None."""
    run = runs.get(les.id)
    group = contents.group_of(les)
    subtitle, explanation = text.split_docstring(source.doc if source else "")
    state = status(run)
    if run is None or (run.error and not run.files):
        meta = "还没有完整运行 / no complete run yet" if run is not None else "还没有运行 / not run yet"
    else:
        seconds = f", {run.seconds:.1f} s" if isinstance(run.seconds, (int, float)) else ""
        engine = f", {e(run.engine)}" if run.engine != "mlseries" else ""
        meta = f"{'quick' if run.quick else 'full'} run, seed {e(run.seed)}{engine}{seconds}"
    crumbs = '<a href="../index.html">首页 / Home</a>'
    if group is not None:
        crumbs += f' › <a href="../index.html#{e(group.id)}">{e(group.id)} {e(group.title_zh)}</a>'
    body = [f'<p class="crumbs">{crumbs}</p>',
            f'<h1>{e(les.title_zh)}</h1><p class="en">{e(les.title_en)}</p>',
            f'<p><span class="id">{e(les.id)}</span> {badge(state)} <span class="meta">{meta}</span></p>']
    if run is not None and run.error:
        shown = "下面是上一次完整的运行 / below: the previous complete run" if run.files else ""
        body.append(f'<p class="error">最近一次运行出错 / the latest run crashed: <code>{e(run.error)}</code>'
                    f'{"<br>" + shown if shown else ""}</p>')
    if subtitle:
        body.append(f'<p class="lead">{text.inline(subtitle)}</p>')
    if explanation.strip():
        body.append(text.to_html(explanation))
    body.append(f'<div class="run-it"><h2 id="run">运行 <span class="en">· Run it</span></h2><pre><code>'
                f"mlseries run {e(les.id)} --quick   # 几秒钟 / seconds\n"
                f"mlseries run {e(les.id)}           # 完整运行 / the full run</code></pre></div>")
    body += [_targets(run), _numbers(run, recorded), _figures(run, source.captions if source else {}),
             _downloads(run), _code(source), _pager(prev, nxt)]
    nav = sidebar(contents, runs, prefix="../", current=les)
    return page(f"{les.id} {les.title_zh} · {SITE_TITLE[0]}", "\n".join(p for p in body if p), nav,
                prefix="../", description=les.title_en)
