"""Is a model available without waiting half a minute to find out?

transformers retries an unreachable model hub for about 25 seconds before it gives up. The CLI checks first:
when a pipeline names hub models that are not in the local cache and the hub cannot be reached within a few
seconds, it switches huggingface_hub to offline mode, so a missing model fails at once with a clear message.

Usage::

    from dpr_components.utils.hub import model_unavailable_reason

    reason = model_unavailable_reason("facebook/dpr-reader-single-nq-base")
    if reason:
        print("reader skipped:", reason)
"""
import os
import socket
from pathlib import Path
from typing import Iterable, List, Mapping, Optional
from urllib.parse import urlparse

MODEL_PARAM_SUFFIXES = ("_model", "model_name_or_path")
_hub_reachable: Optional[bool] = None
switched_offline = False  # go_offline_if_unreachable did it (the user did not set HF_HUB_OFFLINE)


def is_local(name_or_path: str) -> bool:
    """A path rather than a hub id (hub ids are ``name`` or ``org/name``)."""
    return (
        Path(name_or_path).expanduser().exists()
        or name_or_path.startswith(("/", ".", "~"))
        or name_or_path.count("/") > 1
    )


def is_cached(model_id: str) -> bool:
    """Whether the hub model's config.json is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except ValueError:  # an id the hub library rejects (HFValidationError) is not cached
        return False


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to the model hub opens (skipped, i.e. True, behind a proxy or when forced)."""
    global _hub_reachable
    if _hub_reachable is None:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            _hub_reachable = False
        elif any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
            _hub_reachable = True
        else:
            endpoint = urlparse(constants.ENDPOINT)
            try:
                with socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout_s):
                    _hub_reachable = True
            except OSError:
                _hub_reachable = False
    return _hub_reachable


def model_ids(component_params: Mapping[str, Mapping[str, object]]) -> List[str]:
    """Hub model ids (not local paths) named by model parameters of a pipeline's components."""
    found = []
    for params in component_params.values():
        for key, value in params.items():
            if key.endswith(MODEL_PARAM_SUFFIXES) and isinstance(value, str) and value and not is_local(value):
                found.append(value)
    return list(dict.fromkeys(found))


def go_offline_if_unreachable(models: Iterable[str]) -> bool:
    """Switch to offline mode when some model must be downloaded but the hub is unreachable. True if switched."""
    from huggingface_hub import constants

    missing = [model for model in models if not is_cached(model)]
    if not missing or constants.HF_HUB_OFFLINE or hub_reachable():
        return False
    global switched_offline
    switched_offline = constants.HF_HUB_OFFLINE = True
    os.environ["HF_HUB_OFFLINE"] = "1"
    return True


def model_unavailable_reason(name_or_path: str) -> Optional[str]:
    """None if the model is a local directory, cached, or downloadable; else why it is not available."""
    if is_local(name_or_path):
        if Path(name_or_path).expanduser().is_dir():
            return None
        return f"{name_or_path!r} is not a directory"
    if is_cached(name_or_path):
        return None
    if hub_reachable():
        return None
    return (
        f"{name_or_path!r} is not in the local Hugging Face cache and the model hub cannot be reached "
        "(give a local checkpoint directory, or enable network access)"
    )
