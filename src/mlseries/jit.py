"""`torch.jit`: TorchScript compiles a module or function into a graph that runs the same
computation. mlseries has no TorchScript, so `script` and `trace` return their argument, which
computes the same results eagerly. What only TorchScript can do — writing or reading a TorchScript
archive (`jit.save`, `jit.load`) — is refused with what to use instead.
"""
import typing

Final = typing.Final


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """Returns `func` itself. (A real trace records one path through the code; running the code
    eagerly takes the same path for the same inputs, and the right one for others.)"""
    return func


def trace_module(mod, inputs=None, *args, **kwargs):
    return mod


def _decorator(fn=None, **kwargs):
    if fn is None or not callable(fn):
        return lambda f: f
    return fn


def ignore(drop=False, **kwargs):
    return _decorator(drop if callable(drop) else None)


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


def Attribute(value, type=None):  # noqa: N802  (PyTorch's name)
    return value


class ScriptModule:
    """Never instantiated: `isinstance(m, torch.jit.ScriptModule)` is False for every module here."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("mlseries has no TorchScript modules; jit.script(module) returns the module itself")


ScriptFunction = ScriptModule
RecursiveScriptModule = ScriptModule


def save(m, f, _extra_files=None):
    raise NotImplementedError("torch.jit.save writes a TorchScript archive, which mlseries cannot produce (it has "
                              "no TorchScript). Save the module with torch.save(model, path) or its weights with "
                              "torch.save(model.state_dict(), path)")


def load(f, map_location=None, _extra_files=None):
    raise NotImplementedError("torch.jit.load reads TorchScript archives, which hold compiled code; mlseries has no "
                              "TorchScript and never runs code from a file. Build the model in Python and load a "
                              "state dict into it, or use torch.load on a file written by mlseries' torch.save")


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod

