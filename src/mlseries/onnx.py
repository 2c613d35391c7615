"""`torch.onnx`: not available. ONNX export walks a traced graph and writes it in ONNX's
format; mlseries has no exporter."""


class OnnxExporterError(RuntimeError):
    pass


def export(*args, **kwargs):
    raise NotImplementedError(
        "torch.onnx.export is not available in mlseries (it has no ONNX exporter). To get an ONNX file, save the "
        "weights with torch.save(model.state_dict(), path), build the same model in PyTorch, load the tensors into "
        "it (mlseries.load returns tensors whose .numpy() PyTorch accepts; the state-dict keys are PyTorch's) and "
        "export from there")


dynamo_export = export


def is_in_onnx_export():
    return False
