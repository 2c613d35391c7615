"""李宏毅机器学习 2022 春季作业 / Hung-yi Lee's ML 2022 Spring labs, runnable offline on the engine.

Each lab is what a student of the course does: the TA's sample model first (the leaderboard's
"simple" baseline), then the techniques the lab asks for, one rung at a time, ending in a table
(`ladder.py`). The course's own data sets are large downloads; every lab trains on an offline
substitute that installs with the project (docs/labs.md says what each keeps and loses), and
labs whose data has a file format of its own also read the original files with `--data PATH`
and write the prediction file the course's leaderboard takes.

    mlseries run hw01 [--quick]            # one lab
    mlseries run labs                      # all of them
    mlseries run hw01 --data path/to/hw01  # on the original covid.train.csv / covid.test.csv

One package per lab (`hw01/` …), one module per lesson in it, registered with `@lesson` as
"hw01.<name>"; keep the imports below in the course's order.
"""

from . import hw01  # noqa: F401,E402
from . import hw02  # noqa: F401,E402
from . import hw03  # noqa: F401,E402
from . import hw04  # noqa: F401,E402
from . import hw05  # noqa: F401,E402
from . import hw06  # noqa: F401,E402
from . import hw07  # noqa: F401,E402
from . import hw08  # noqa: F401,E402
from . import hw09  # noqa: F401,E402
from . import hw10  # noqa: F401,E402
from . import hw11  # noqa: F401,E402
from . import hw12  # noqa: F401,E402
from . import hw13  # noqa: F401,E402
from . import hw14  # noqa: F401,E402
from . import hw15  # noqa: F401,E402
