"""The course as a static website, built from the folders that lesson runs write.

    from mlseries.site import build_site
    build_site("runs")          # runs/index.html, runs/<lesson id>/index.html, runs/assets/

`mlseries tour` runs every lesson (quick; `--full` for the full runs) and then builds the site;
`mlseries site` rebuilds the pages from runs that already exist. Pieces, one job each:
`runs.py` reads a run folder, `recorded.py` the recorded full-run numbers, `contents.py` groups
the registered lessons by the catalogue, `text.py` turns a lesson's docstring into HTML,
`code.py` highlights its source, `html.py` and `pages.py` write the pages, `build.py` puts them
together; `assets/` holds the stylesheet and the one small script.
"""
from .build import build_site
from .runs import Run, read_run

__all__ = ["Run", "build_site", "read_run"]
