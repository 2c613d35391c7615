"""Lesson tests share one quick run per lesson: `mlseries run <id> --quick` through the CLI,
with every warning recorded (missing figure labels and glyphs show up there)."""
import json
import warnings

from click.testing import CliRunner

from mlseries.cli import main


def quick_runner(tmp_path_factory):
    """A function id -> (out folder, printed output, metrics.json record, warnings), running
    each lesson on its first request only."""
    done = {}

    def get(lesson_id):
        if lesson_id not in done:
            out = tmp_path_factory.mktemp(lesson_id.replace(".", "_"))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = CliRunner().invoke(main, ["run", lesson_id, "--quick", "--out", str(out)])
            assert result.exit_code == 0, result.output
            record = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
            done[lesson_id] = (out, result.output, record, caught)
        return done[lesson_id]

    return get
