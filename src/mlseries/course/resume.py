"""Resumable runs: a lesson's training loops save their state, and `mlseries run ID --resume`
continues an interrupted run so that it ends with exactly the metrics and weights of a run that
was never interrupted.

How a lesson uses it (every lesson whose full run takes minutes should):

    state = ctx.resumable("plain-20", model=model, optimizer=optimizer, scheduler=scheduler, rng=rng)
    v = state.vars                          # the loop's own variables: saved and restored with it
    v.setdefault("epoch", 0); v.setdefault("losses", [])
    while v["epoch"] < epochs:
        ... one optimiser step ...
        v["losses"].append(loss)            # update the loop's variables first,
        state.step()                        # then count the step: a checkpoint is taken when due
        ...
    state.finish()                          # the loop is done: its final state is kept

`ctx.resumable(name, **tracked)` names one training loop (a "unit"; names are unique within a
run) and the objects it changes. Tracked objects may be modules, optimisers, schedulers (anything
with `state_dict()` / `load_state_dict()`), NumPy generators, `mlseries.Generator`s, and dicts of
NumPy arrays (weights of a network written by hand, restored in place). The engine's default
generator (`mlseries.manual_seed`: initialisation, dropout, shuffling) and NumPy's legacy global
generator are always tracked.

On a resumed run the lesson simply runs again from the top. Everything outside the units is
deterministic and cheap (loading data, building models, drawing figures); when the lesson reaches
a unit the checkpoint holds, `ctx.resumable` loads the saved state into the tracked objects and
`state.vars`: a finished unit comes back finished (its loop does no steps), an interrupted one
continues from its last checkpoint. So the rules for a loop are:

- everything the loop changes and later code reads is tracked or lives in `state.vars` (epoch
  and position counters, the epoch's data order, running sums, histories); `state.vars` holds
  numbers, strings, lists, dicts and NumPy arrays;
- `state.step()` comes after a step's changes are all made (the checkpoint is a consistent cut);
- every random number the loop draws comes from a tracked generator;
- the unit is made right before its loop: on resume the tracked objects jump to the saved state
  there, so code between `ctx.resumable` and the loop would run on the restored state.

`course/training.py`'s `fit` and `train_epoch` take `state=` and follow these rules; a loop of
your own follows the pattern above. Checkpoints are written atomically to
`OUT/.partial/checkpoint.npz` every 60 seconds of training (`--checkpoint-every`), and whenever a
unit finishes. `mlseries run ID --keep-checkpoint` keeps the final one as `OUT/checkpoint.npz`.
"""
import time

import numpy as np

import mlseries as ms

FORMAT = 1


class ResumeError(ValueError):
    """A checkpoint that does not belong to this run (another lesson, seed or mode)."""


# ---- what a tracked object's state is ----------------------------------------------------------
def _is_array_dict(obj):
    return isinstance(obj, dict) and all(isinstance(v, np.ndarray) for v in obj.values())


def capture(obj):
    """The state of a tracked object, as something `mlseries.save` can store."""
    if isinstance(obj, np.random.Generator):
        return {"numpy_generator": obj.bit_generator.state}
    if isinstance(obj, ms.Generator):
        return {"mlseries_generator": obj.get_state()}
    if isinstance(obj, np.random.RandomState):
        return {"numpy_random_state": obj.get_state(legacy=False)}
    if _is_array_dict(obj):
        return {"arrays": dict(obj)}
    if hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"):
        return {"state_dict": obj.state_dict()}
    raise TypeError(f"resumable: cannot track a {type(obj).__name__}; track modules, optimisers, schedulers "
                    "(state_dict/load_state_dict), NumPy or mlseries generators, or dicts of NumPy arrays")


def restore(obj, state, what):
    """Load `state` (from `capture`) into `obj` in place."""
    if "numpy_generator" in state:
        obj.bit_generator.state = state["numpy_generator"]
    elif "mlseries_generator" in state:
        obj.set_state(state["mlseries_generator"])
    elif "numpy_random_state" in state:
        obj.set_state(state["numpy_random_state"])
    elif "arrays" in state:
        saved = state["arrays"]
        if set(saved) != set(obj):
            raise ResumeError(f"{what}: the checkpoint holds arrays {sorted(saved)}, the lesson has {sorted(obj)}")
        for key, value in saved.items():
            if obj[key].shape != value.shape:
                raise ResumeError(f"{what}[{key!r}]: shape {value.shape} in the checkpoint, {obj[key].shape} now")
            obj[key][...] = value
    elif "state_dict" in state:
        obj.load_state_dict(state["state_dict"])
    else:
        raise ResumeError(f"{what}: unrecognised state in the checkpoint")


def copy_state(value):
    """A deep copy of a state (arrays and tensors copied), so later training cannot change it."""
    if isinstance(value, ms.Tensor):   # a plain tensor is all load_state_dict needs
        return ms.Tensor._make(value._data.copy())
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return type(value)((k, copy_state(v)) for k, v in value.items())
    if isinstance(value, list):
        return [copy_state(v) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_state(v) for v in value)
    return value


# ---- one training loop --------------------------------------------------------------------------
class TrainingState:
    """One resumable training loop: the objects it trains, its own variables (`vars`), and how
    many steps it has taken. Made by `RunContext.resumable`; see the module docstring."""

    def __init__(self, checkpointer, name, tracked, saved=None):
        self.name = name
        self._checkpointer = checkpointer
        self._tracked = tracked
        self._final = None
        self.vars = {}
        self.steps = 0
        self.done = False
        self.restored = saved is not None
        for key, obj in tracked.items():   # refuse what cannot be saved now, not at the first checkpoint
            capture(obj)
        if saved is not None:
            objects = saved.get("objects", {})
            missing = set(tracked) - set(objects)
            if missing:
                raise ResumeError(f"unit {name!r}: the checkpoint has no state for {sorted(missing)}")
            for key, obj in tracked.items():
                restore(obj, objects[key], f"unit {name!r}, {key}")
            self.vars = copy_state(saved.get("vars") or {})   # live; the saved copy stays as it was
            self.steps = int(saved.get("steps", 0))
            self.done = bool(saved.get("done", False))
            if self.done:
                self._final = saved

    def snapshot(self):
        """The unit's state now (sharing memory with the live objects: save it before training on)."""
        if self._final is not None:
            return self._final
        return {"done": self.done, "steps": self.steps, "vars": self.vars,
                "objects": {key: capture(obj) for key, obj in self._tracked.items()}}

    def step(self):
        """Count one finished step; the run's checkpoint is written when one is due."""
        if self.done:
            raise RuntimeError(f"resumable {self.name!r}: step() after finish()")
        self.steps += 1
        self._checkpointer.tick()

    def finish(self):
        """The loop is over: keep its final state (copied) and write a checkpoint."""
        if self.done and self._final is not None:
            return
        self.done = True
        self._final = copy_state(self.snapshot())
        self._checkpointer.unit_finished(self)


# ---- the run's checkpoint file --------------------------------------------------------------------
def _always_tracked():
    return {"mlseries.default_generator": ms.random.default_generator,
            "numpy.random": np.random.mtrand._rand}


class Checkpointer:
    """The checkpoint of one run: the latest state of every unit it has started.

    `path` is where it is written; `meta` identifies the run (lesson, quick, seed) and is checked
    on resume; `saved` is a checkpoint read back from disk (or None for a fresh run);
    `every_seconds` / `every_steps` say when a step triggers a save. With `path` None nothing is
    written (a RunContext made outside `mlseries run`)."""

    def __init__(self, path=None, meta=None, saved=None, every_seconds=60.0, every_steps=None, log=None):
        self.path = path
        self.meta = dict(meta or {})
        self.every_seconds = every_seconds
        self.every_steps = every_steps
        self.saves = 0
        self.total_steps = 0
        self._log = log or (lambda message: None)
        self._units = {}
        self._saved_units = dict((saved or {}).get("units", {}))
        self._last_save = time.monotonic()
        if saved is not None:
            check_meta(saved.get("meta", {}), self.meta)

    @property
    def resumed_steps(self):
        return sum(int(u.get("steps", 0)) for u in self._saved_units.values())

    def unit(self, name, tracked):
        if not isinstance(name, str) or not name:
            raise ValueError("resumable: a unit needs a non-empty name")
        if name in self._units:
            raise ValueError(f"resumable: the unit name {name!r} is used twice in this run; names must be unique")
        tracked = {**_always_tracked(), **tracked}
        state = TrainingState(self, name, tracked, self._saved_units.get(name))
        self._units[name] = state
        if state.restored:
            self._log(f"resumed {name}: " + ("finished before the interruption" if state.done
                                             else f"continuing after step {state.steps}"))
        return state

    def tick(self):
        self.total_steps += 1
        if self.path is None:
            return
        if self.every_steps is not None:
            due = self.total_steps % self.every_steps == 0
        else:
            due = time.monotonic() - self._last_save >= self.every_seconds
        if due:
            self.save()

    def unit_finished(self, state):
        if self.path is not None:
            self.save()

    def save(self):
        """Write every unit's state (the finished ones' kept copies, the running ones' live state)."""
        if self.path is None:
            return
        units = dict(self._saved_units)   # units of the interrupted run not reached again yet
        units.update({name: state.snapshot() for name, state in self._units.items()})
        ms.save({"meta": {**self.meta, "format": FORMAT, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S")},
                 "units": units}, self.path)
        self.saves += 1
        self._last_save = time.monotonic()


def read_checkpoint(path):
    """A checkpoint written by Checkpointer.save (mlseries.CheckpointError if corrupt)."""
    saved = ms.load(path)
    if not isinstance(saved, dict) or not isinstance(saved.get("units"), dict) or \
            not isinstance(saved.get("meta"), dict):
        raise ms.CheckpointError(f"{path}: not a run checkpoint (no meta / units)")
    return saved


def check_meta(saved, wanted):
    """Refuse a checkpoint of another lesson, seed or mode, saying how it was made."""
    if saved.get("format") not in (None, FORMAT):
        raise ResumeError(f"the checkpoint was written by another version of mlseries (format "
                          f"{saved.get('format')}); run without --resume to start over")
    for key in ("lesson", "quick", "seed"):
        if key in wanted and saved.get(key) != wanted[key]:
            made = (f"{saved.get('lesson')}, {'--quick' if saved.get('quick') else 'full'}, "
                    f"--seed {saved.get('seed')}")
            asked = (f"{wanted.get('lesson')}, {'--quick' if wanted.get('quick') else 'full'}, "
                     f"--seed {wanted.get('seed')}")
            raise ResumeError(f"the interrupted run in this folder was {made}, not {asked}: resume it with the "
                              "same options, or run without --resume to start over")
