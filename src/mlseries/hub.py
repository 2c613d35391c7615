"""`torch.hub`: not available. It downloads repositories and weights and runs the downloaded
code; mlseries downloads nothing and never runs code that came from a file or the network."""

_WHY = ("mlseries never downloads anything, and torch.hub would also run the downloaded code. Download the weights "
        "yourself, save them as an mlseries checkpoint (torch.save(state_dict, path)), build the model in Python and "
        "call model.load_state_dict(torch.load(path))")


def load(repo_or_dir, model, *args, **kwargs):
    raise NotImplementedError(f"torch.hub.load({repo_or_dir!r}, {model!r}) is not available: {_WHY}")


def list(github, force_reload=False, skip_validation=False, trust_repo=None, verbose=True):  # noqa: A001
    raise NotImplementedError(f"torch.hub.list is not available: {_WHY}")


def help(github, model, force_reload=False, skip_validation=False, trust_repo=None):  # noqa: A001
    raise NotImplementedError(f"torch.hub.help is not available: {_WHY}")


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                             file_name=None, weights_only=False):
    raise NotImplementedError(f"torch.hub.load_state_dict_from_url({url!r}) is not available: {_WHY}")


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    raise NotImplementedError(f"torch.hub.download_url_to_file({url!r}) is not available: {_WHY}")
