"""The course site: pages built from run folders, checked as text here and in a real browser.

The browser tests build the site from quick runs of a few lessons (every other registered
lesson still gets its page, "not run yet"), serve it from a localhost server and drive Debian's
headless Chromium through Selenium: no page logs a console error, every image decodes, every
link resolves, the table of contents reaches every lesson, and at 390 px nothing overflows
sideways. Screenshots of the home page and one lesson page, at desktop and phone widths, are
written to runs/test-screenshots/ (or $MLSERIES_SCREENSHOTS) for a person to look at.
"""
import functools
import http.server
import json
import os
import re
import shutil
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlseries import course
from mlseries.cli import main
from mlseries.site import build_site, read_run, text
from mlseries.site.contents import build_contents
from mlseries.site.recorded import Recorded, as_number, load_recorded

REPO = Path(__file__).resolve().parents[1]
BROWSER_LESSONS = ("ch01.line", "ch03.binary", "ch05.autodiff")   # seconds each in quick mode
SCREENSHOT_LESSON = "ch01.line"


# ---------------------------------------------------------------- reading runs

def test_read_run_takes_what_metrics_json_holds(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "metrics.json").write_text(json.dumps({
        "id": "ch99.x", "quick": True, "seed": 3, "seconds": 1.5, "metrics": {"acc": 0.9},
        "checks": {"acc ≥ 0.8": True}, "files": ["a.png", "gone.png", "notes.txt"]}), encoding="utf-8")
    run = read_run(tmp_path)
    assert (run.id, run.quick, run.seed, run.passed) == ("ch99.x", True, 3, True)
    assert run.images == ["a.png"]            # a file listed but missing is not shown
    assert run.metrics == {"acc": 0.9} and run.engine == "mlseries"


def test_a_missing_or_broken_record_is_not_run(tmp_path):
    assert read_run(tmp_path) is None
    (tmp_path / "metrics.json").write_text("{half", encoding="utf-8")
    assert read_run(tmp_path) is None


def test_a_failed_target_fails_the_run(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"checks": {"a": True, "b": False}}), encoding="utf-8")
    assert read_run(tmp_path, "ch99.y").passed is False


# ---------------------------------------------------------------- docstrings as HTML

def test_docstring_paragraphs_lists_and_code():
    subtitle, body = text.split_docstring(
        "ch99.x — 示例 / An example.\n\nFirst line\ncontinues `code` and **bold**.\n\n"
        "- one\n  wrapped\n- two\n\n1. first\n2. second\n\n    mlseries run ch99.x\n")
    assert subtitle == "示例 / An example."
    html = text.to_html(body)
    assert "<p>First line continues <code>code</code> and <strong>bold</strong>.</p>" in html
    assert "<ul><li>one wrapped</li><li>two</li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert '<pre class="doc-code"><code>mlseries run ch99.x</code></pre>' in html
    assert "<script>" not in text.to_html("<script>alert(1)</script>")


# ---------------------------------------------------------------- building pages (no browser)

def _fake_lesson(id, module=__name__):
    return course.Lesson(id, f"假{id}：副标题", f"Fake {id}: subtitle", lambda ctx: None, module)


def _write_run(folder, checks, image=True):
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if image:
        from PIL import Image
        Image.new("RGB", (40, 30), "white").save(folder / "plot.png")
        files.append("plot.png")
    (folder / "metrics.json").write_text(json.dumps({
        "quick": True, "seed": 0, "seconds": 0.5, "metrics": {"acc": 0.91234, "n": 3},
        "checks": checks, "files": files + ["metrics.json"]}), encoding="utf-8")


@pytest.fixture
def small_site(tmp_path):
    chapters = {"ch98": course.Chapter("ch98", "第九十八章", "Chapter 98"),
                "ch99": course.Chapter("ch99", "第九十九章", "Chapter 99")}
    labs = {"hw99": course.Chapter("hw99", "实验九十九", "Lab 99")}
    tracks = {"day9": course.Track("day9", "第 09 天", "Day 9", ("ch98.a", "ch98.unwritten"))}
    lessons = [_fake_lesson("ch98.a"), _fake_lesson("ch98.b"), _fake_lesson("zz01.c")]
    contents = build_contents(lessons, chapters, tracks, labs)
    _write_run(tmp_path / "ch98.a", {"acc ≥ 0.9": True})
    _write_run(tmp_path / "ch98.b", {"acc ≥ 0.99": False}, image=False)
    recorded = {"ch98.a": Recorded("mlseries run ch98.a", {"acc": "0.95"})}
    index = build_site(tmp_path, contents=contents, recorded=recorded, built_by="test")
    return tmp_path, index


def test_home_page_lists_chapters_tracks_labs_with_badges(small_site):
    root, index = small_site
    page = index.read_text(encoding="utf-8")
    assert '<meta name="viewport"' in page
    for words in ("第九十八章", "Chapter 99", "Lab 99", "第 09 天", "ch98.unwritten"):
        assert words in page
    assert page.count("即将推出 / coming") >= 3       # ch99, hw99, and the unwritten track lesson
    assert 'href="ch98.a/index.html"' in page and 'href="zz01.c/index.html"' in page  # unknown chapter too
    assert "PASS" in page and "FAIL" in page


def test_lesson_page_has_text_figures_numbers_and_code(small_site):
    root, _ = small_site
    page = (root / "ch98.a" / "index.html").read_text(encoding="utf-8")
    assert "假ch98.a：副标题" in page and "Fake ch98.a: subtitle" in page
    assert "The course site: pages built from run folders" in page          # this module's docstring
    assert '<img src="plot.png" width="40" height="30"' in page
    assert '<a class="zoom" href="plot.png">' in page
    assert "0.9123" in page and ">0.95<" in page                             # quick beside recorded
    assert "acc ≥ 0.9" in page and "PASS" in page
    assert (root / "ch98.a" / Path(__file__).name).is_file()                # the code, copied
    assert 'class="code"' in page
    assert 'aria-current="page"' in page
    not_run = (root / "zz01.c" / "index.html").read_text(encoding="utf-8")
    assert "not run yet" in not_run
    failed = (root / "ch98.b" / "index.html").read_text(encoding="utf-8")
    assert "FAIL" in failed


def test_pages_use_no_network(small_site):
    root, _ = small_site
    for page in root.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', html), page


# ---------------------------------------------------------------- recorded full-run numbers

def test_every_recorded_number_is_the_one_in_the_docs():
    """recorded.json is what the site shows beside a quick run; docs/course.md is what people
    read (docs/labs.md for the labs). Each recorded value must appear there verbatim, so neither
    can change alone."""
    docs = "\n".join((REPO / "docs" / name).read_text(encoding="utf-8") for name in ("course.md", "labs.md"))
    recorded = load_recorded()
    known = {les.id for les in course.lessons()}
    assert recorded and set(recorded) <= known
    missing = [f"{lesson_id}.{name} = {value}" for lesson_id, entry in recorded.items()
               for name, value in entry.metrics.items() if value.rstrip(" %") not in docs]
    assert missing == []
    assert all(as_number(v) is not None for entry in recorded.values() for v in entry.metrics.values())


# ---------------------------------------------------------------- the command line

def test_site_command_rebuilds_pages_from_existing_runs(tmp_path):
    result = CliRunner().invoke(main, ["site", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "index.html").is_file() and (tmp_path / "assets" / "site.css").is_file()
    for les in course.lessons():
        assert (tmp_path / les.id / "index.html").is_file(), les.id


# ---------------------------------------------------------------- in a real browser

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--disable-dev-shm-usage")


def _chromium():
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    return binary, driver


@pytest.fixture(scope="module")
def site_root(tmp_path_factory):
    """A site built from quick runs of BROWSER_LESSONS; the other lessons' pages are 'not run'."""
    root = tmp_path_factory.mktemp("site")
    for lesson_id in BROWSER_LESSONS:
        result = CliRunner().invoke(main, ["run", lesson_id, "--quick", "--out", str(root / lesson_id)])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["site", "--out", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def server(site_root):
    handler = functools.partial(_QuietHandler, directory=str(site_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary, driver_path = _chromium()
    if binary is None or driver_path is None:
        pytest.skip("Chromium or chromedriver is not installed (scripts/setup.sh installs both)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extras")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _pages(site_root):
    return ["index.html"] + [f"{les.id}/index.html" for les in course.lessons()
                             if (site_root / les.id / "index.html").is_file()]


_LOAD_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(img => { img.loading = "eager"; });
Promise.all(imgs.map(img => img.decode().catch(() => null))).then(() =>
  done(imgs.map(img => [img.getAttribute("src"), img.naturalWidth])));
"""


@pytest.fixture(scope="module")
def survey(browser, server, site_root):
    """Every page visited once at desktop width: console messages, images, links, title."""
    browser.set_script_timeout(30)
    found = {}
    for page in _pages(site_root):
        browser.get(server + page)
        images = browser.execute_async_script(_LOAD_IMAGES)
        links = browser.execute_script("return Array.from(document.querySelectorAll('a[href]'))"
                                       ".map(a => a.href)")
        heading = browser.execute_script("const h = document.querySelector('h1'); return h && h.textContent")
        found[page] = dict(console=browser.get_log("browser"), images=images, links=links, h1=heading)
    return found


def test_every_page_loads_without_a_console_error(survey):
    errors = {page: [e["message"] for e in data["console"] if e["level"] in ("SEVERE", "ERROR")]
              for page, data in survey.items()}
    assert {page: e for page, e in errors.items() if e} == {}


def test_every_image_decodes(survey):
    broken = [(page, src) for page, data in survey.items() for src, width in data["images"] if not width]
    assert broken == []
    shown = sum(len(survey[f"{i}/index.html"]["images"]) for i in BROWSER_LESSONS)
    assert shown >= len(BROWSER_LESSONS) * 2   # the runs' figures are really on their pages


def test_every_link_resolves(survey, server, site_root):
    links = {link for data in survey.values() for link in data["links"]}
    outside = [link for link in links if not link.startswith(server)]
    assert outside == []                        # offline: every link is to the site itself
    bad = []
    for link in sorted(links):
        url, _, fragment = link.partition("#")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
        except OSError as err:
            bad.append(f"{link}: {err}")
            continue
        if fragment and f'id="{urllib.parse.unquote(fragment)}"'.encode() not in body:
            bad.append(f"{link}: no element with that id")
    assert bad == []


def test_contents_reach_every_lesson(browser, server):
    browser.get(server + "index.html")
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.sidebar a')).map(a => a.getAttribute('href'))")
    for les in course.lessons():
        assert f"{les.id}/index.html" in hrefs, les.id
    lesson = course.get(SCREENSHOT_LESSON)
    browser.find_element("css selector", f'nav.sidebar a[href="{lesson.id}/index.html"]').click()
    assert browser.find_element("css selector", "h1").text == lesson.title_zh


def test_a_figure_opens_large_on_click(browser, server):
    browser.get(server + f"{SCREENSHOT_LESSON}/index.html")
    browser.execute_async_script(_LOAD_IMAGES)
    link = browser.find_element("css selector", "a.zoom")
    browser.execute_script("arguments[0].scrollIntoView()", link)
    link.click()
    state = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const dialog = document.querySelector("dialog.zoom");
        const img = dialog && dialog.querySelector("img");
        (img ? img.decode().catch(() => null) : Promise.resolve()).then(() =>
            done([!!(dialog && dialog.open), img ? img.naturalWidth : 0]));""")
    assert state[0] and state[1] > 0
    assert browser.current_url.endswith(f"{SCREENSHOT_LESSON}/index.html")   # stayed on the page


def test_nothing_overflows_at_phone_width(browser, server, site_root):
    browser.set_window_size(390, 844)
    try:
        wide = {}
        for page in _pages(site_root):
            browser.get(server + page)
            width = browser.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if width[0] > width[1]:
                wide[page] = width
        assert wide == {}
    finally:
        browser.set_window_size(1280, 900)


def _full_page_png(browser, path):
    """A screenshot of the whole page, not only the window (Chrome DevTools' own capture)."""
    import base64
    size = browser.execute_script("return [document.documentElement.scrollWidth,"
                                  " document.documentElement.scrollHeight]")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 12000), "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_screenshots_for_a_person_to_look_at(browser, server):
    folder = Path(os.environ.get("MLSERIES_SCREENSHOTS", REPO / "runs" / "test-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for width, name in ((1280, "desktop"), (390, "phone")):
        browser.set_window_size(width, 900)
        for page, label in (("index.html", "home"), (f"{SCREENSHOT_LESSON}/index.html", SCREENSHOT_LESSON)):
            browser.get(server + page)
            browser.execute_async_script(_LOAD_IMAGES)
            written.append(_full_page_png(browser, folder / f"{label}-{name}.png"))
    browser.set_window_size(1280, 900)
    from PIL import Image
    for path in written:
        with Image.open(path) as image:
            assert image.width >= 390 and image.height > 500, path
