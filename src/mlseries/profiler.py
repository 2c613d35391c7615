"""`torch.profiler`: a small wall-clock profiler with PyTorch's interface.

    with profiler.profile(activities=[profiler.ProfilerActivity.CPU]) as prof:
        with profiler.record_function("forward"):
            loss = model(x).sum()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")   # open in chrome://tracing or ui.perfetto.dev

What it measures: the `record_function` blocks (and `prof.step()` boundaries, as
"ProfilerStep#N"), timed with `time.perf_counter`, with call counts, total, self (total less the
blocks nested inside) and average times. What differs from PyTorch: it does not see individual
operators (no `aten::mm` rows), CUDA, memory, shapes, FLOPs or stacks — `record_shapes`,
`profile_memory`, `with_stack`, `with_flops`, `with_modules` are accepted and record nothing;
`schedule` and `on_trace_ready` work as in PyTorch (record only in the active steps, hand each
finished cycle to the handler); `tensorboard_trace_handler` writes Chrome-trace JSON files.
"""
import enum
import functools
import json
import os
import socket
import threading
import time

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "supported_activities"]

_active = []  # the profilers now recording; record_function reports to each


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


def supported_activities():
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """step number -> ProfilerAction: skip `skip_first` steps, then cycles of `wait` idle, `warmup`
    and `active` recorded steps (the last one saves), `repeat` times (0: for ever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments: wait, warmup, repeat and skip_first must be >= 0 "
                         "and active must be > 0")

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always(step):
    return ProfilerAction.RECORD


class _Event:
    __slots__ = ("name", "start", "end", "tid", "depth", "children_time")

    def __init__(self, name, start, tid, depth):
        self.name, self.start, self.end, self.tid, self.depth = name, start, None, tid, depth
        self.children_time = 0.0

    @property
    def cpu_time_total(self):  # microseconds, as PyTorch reports
        return (self.end - self.start) * 1e6

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - self.children_time * 1e6


class FunctionEventAvg:
    """One row of `key_averages()`: every event of one name, times in microseconds."""

    def __init__(self, key):
        self.key, self.count = key, 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.self_device_time_total = 0.0
        self.cuda_time_total = self.self_cuda_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.input_shapes = None

    def add(self, event):
        self.count += 1
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_fmt(self.self_cpu_time_total)} "
                f"cpu_time={_fmt(self.cpu_time)} count={self.count}>")


_SORT_KEYS = {"cpu_time_total", "self_cpu_time_total", "cpu_time", "count", "cuda_time_total",
              "self_cuda_time_total", "device_time_total", "self_device_time_total", "cpu_memory_usage",
              "self_cpu_memory_usage"}


def _fmt(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """A list of events (or of their averages) that prints as PyTorch's table."""

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        rows = list(self)
        if top_level_events_only:
            rows = [r for r in rows if getattr(r, "depth", 0) == 0]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"table: sort_by must be one of {sorted(_SORT_KEYS)}, got {sort_by!r}")
            rows.sort(key=lambda r: getattr(r, sort_by, 0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        total_self = sum(r.self_cpu_time_total for r in self) or 1.0
        total = sum(r.self_cpu_time_total for r in self)
        width = min(max([len(r.key if hasattr(r, "key") else r.name) for r in rows] + [4]), max_name_column_width)
        heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        body = []
        for r in rows:
            count = getattr(r, "count", 1)
            avg = r.cpu_time_total / count if count else 0.0
            body.append(((r.key if hasattr(r, "key") else r.name)[:width],
                         [f"{100 * r.self_cpu_time_total / total_self:.2f}%", _fmt(r.self_cpu_time_total),
                          f"{100 * r.cpu_time_total / total_self:.2f}%", _fmt(r.cpu_time_total), _fmt(avg),
                          str(count)]))
        widths = [max([len(h)] + [len(cells[i]) for _, cells in body]) for i, h in enumerate(heads)]
        line = "-" * (width + sum(w + 2 for w in widths))
        out = [header] if header else []
        out += [line, "  ".join(["Name".ljust(width)] + [h.rjust(w) for h, w in zip(heads, widths)]), line]
        for name, cells in body:
            out.append("  ".join([name.ljust(width)] + [c.rjust(w) for c, w in zip(cells, widths)]))
        out += [line, f"Self CPU time total: {_fmt(total)}", ""]
        return "\n".join(out)

    def __str__(self):
        return self.table()


class profile:
    """Context manager recording `record_function` blocks (see the module docstring)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None):
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or _always
        self._record_steps = schedule is not None  # "ProfilerStep#N" blocks, only with a schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.with_flops, self.with_modules = with_flops, with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self._events, self._saved = [], []
        self._stack = {}  # thread id -> open events
        self._step_event = None
        self._origin = time.perf_counter()
        self._recording = False

    # ---- the recording window ------------------------------------------------------------------
    def start(self):
        self._origin = time.perf_counter()
        self._apply(self.schedule(self.step_num))
        return self

    def stop(self):
        self._close_step()
        if self._recording:
            self._save()
        self._set_recording(False)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def step(self):
        """Mark the end of one training step (the schedule counts these)."""
        self._close_step()
        before = self.schedule(self.step_num)
        self.step_num += 1
        after = self.schedule(self.step_num)
        if before == ProfilerAction.RECORD_AND_SAVE:
            self._save()
        self._apply(after)

    def _apply(self, action):
        if action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            if not self._recording:
                self._events = []
            self._set_recording(True)
            if self._record_steps:
                self._step_event = self._open(f"ProfilerStep#{self.step_num}")
        else:
            self._set_recording(False)

    def _close_step(self):
        if self._step_event is not None:
            self._close(self._step_event)
            self._step_event = None

    def _set_recording(self, on):
        if on and self not in _active:
            _active.append(self)
        elif not on and self in _active:
            _active.remove(self)
        self._recording = on

    def _save(self):
        self._saved = list(self._events)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)
        if not self.acc_events:
            self._events = []

    # ---- events --------------------------------------------------------------------------------
    def _open(self, name):
        tid = threading.get_ident()
        stack = self._stack.setdefault(tid, [])
        ev = _Event(name, time.perf_counter(), tid, len(stack))
        stack.append(ev)
        self._events.append(ev)
        return ev

    def _close(self, ev):
        ev.end = time.perf_counter()
        stack = self._stack.get(ev.tid, [])
        if ev in stack:
            stack.remove(ev)
        if stack:
            stack[-1].children_time += ev.end - ev.start

    def events(self):
        """Every finished event of the last recorded window, in the order they began."""
        source = self._events if self._recording or not self._saved else self._saved
        return EventList(e for e in source if e.end is not None)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        """One row per block name: call count, total, self and average time."""
        rows = {}
        for e in self.events():
            rows.setdefault(e.name, FunctionEventAvg(e.name)).add(e)
        return EventList(rows.values())

    def export_chrome_trace(self, path):
        """Write the events as Chrome-trace JSON (complete "X" events, times in microseconds)."""
        pid = os.getpid()
        trace = {"traceEvents": [
            {"name": e.name, "ph": "X", "cat": "user_annotation", "ts": (e.start - self._origin) * 1e6,
             "dur": (e.end - e.start) * 1e6, "pid": pid, "tid": e.tid % (1 << 31), "args": {}}
            for e in self.events()], "displayTimeUnit": "ms"}
        tmp = f"{path}.tmp{pid}"
        with open(tmp, "w") as f:
            json.dump(trace, f)
        os.replace(tmp, path)
        return path

    def export_stacks(self, path, metric="self_cpu_time_total"):
        raise RuntimeError("export_stacks: this profiler does not record stacks (with_stack is accepted and "
                           "ignored); use export_chrome_trace")


class record_function:
    """`with record_function("name"):` (or as a decorator) times the block under `name` in every
    profiler now recording; outside a profiler it costs a list lookup."""

    def __init__(self, name, args=None):
        self.name, self.args = name, args
        self._opened = []

    def __enter__(self):
        self._opened = [(p, p._open(self.name)) for p in list(_active)]
        return self

    def __exit__(self, *exc):
        for p, ev in self._opened:
            p._close(ev)
        self._opened = []
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with record_function(self.name, self.args):
                return fn(*a, **k)
        return wrapper


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An `on_trace_ready` handler writing each finished cycle as
    `<dir_name>/<worker>.<milliseconds>.pt.trace.json` (Chrome-trace JSON; gzip when asked)."""
    worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = os.path.join(dir_name, f"{worker}.{int(time.time() * 1000)}.pt.trace.json")
        prof.export_chrome_trace(name)
        if use_gzip:
            import gzip
            with open(name, "rb") as src, gzip.open(name + ".gz", "wb") as dst:
                dst.write(src.read())
            os.remove(name)
    return handler
