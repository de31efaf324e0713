"""``torch.load`` with ``weights_only=True`` and one-line reasons instead of torch's advice.

torch's own message for a refused file suggests reloading with ``weights_only=False``,
which would run whatever code the file carries; this module never suggests that.
"""

from __future__ import annotations

import errno
import pickle
import warnings
from pathlib import Path
from typing import Any


class LoadError(ValueError):
    """A tensor file cannot be used; the message names the file and the reason."""


def safe_torch_load(path: str | Path) -> Any:
    """Load ``path`` on the CPU with ``weights_only=True``.

    Raises:
        LoadError: missing, empty, truncated, not a PyTorch file (any damaged byte stream,
            whatever torch's unpickler raises on it), or holding pickled Python objects
            (refused: unpickling them could run code).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise LoadError(f"no file at {path}" if not path.exists() else f"{path} is not a file")
    if _is_torchscript(path):  # torch.load would warn, then advise weights_only=False
        raise LoadError(
            f"{path} is a TorchScript model (as 'workbench export' writes), not a checkpoint or "
            "weights file; load it with torch.jit.load"
        )
    try:
        with warnings.catch_warnings():
            # a plain pickle (protocol 4) drew torch's "please file an issue" UserWarning
            # before our one line: the refusal below says all there is
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        lowered = text.lower()
        if "unsupported global" in lowered:
            tail = (
                text[lowered.index("unsupported global") + len("unsupported global") :].lstrip(": ").split()
            )
            name = tail[1] if len(tail) > 1 and tail[0].upper() == "GLOBAL" else "objects"
            raise LoadError(
                f"{path} holds pickled Python objects ({name}), refused because loading them could "
                "run code; save plain tensors instead: torch.save(model.state_dict(), path)"
            ) from None
        raise LoadError(f"{path} is not a PyTorch tensor file, or it is corrupt") from None
    except EOFError:
        raise LoadError(f"{path} is empty or truncated") from None
    except (RuntimeError, KeyError, ValueError, OSError, AttributeError) as exc:
        reason = "truncated or corrupt" if ("zip" in str(exc) or isinstance(exc, KeyError)) else exc
        if isinstance(exc, OSError) and exc.strerror:
            # EINVAL is torch seeking past the end of a cut-off file: a damaged file, not a
            # file-system error ("Invalid argument" read like a wrong command line)
            reason = "truncated or corrupt" if exc.errno == errno.EINVAL else exc.strerror
        first = str(reason).splitlines()[0].split(". ")[0].rstrip(".")
        # torch's advice about its loader, never ours to repeat, and its internals ("[enforce
        # fail at inline_container.cc:180]" for a zip of other files, "Invalid magic number"
        # for an old-style pickle): each means the same to the user
        if any(words in first for words in ("weights_only", "enforce fail", "magic number")):
            first = "not a PyTorch tensor file, or it is corrupt"
        raise LoadError(f"{path} cannot be read: {first}") from None
    except MemoryError:
        raise LoadError(f"{path} cannot be read: it needs more memory than this machine has") from None
    except Exception:  # noqa: BLE001 - a damaged stream fails in torch's unpickler in many ways
        # (IndexError "pop from empty list", struct.error, TypeError ...): each means the same
        raise LoadError(f"{path} is not a PyTorch tensor file, or it is corrupt") from None


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive: a zip with the ``constants.pkl`` and ``code/`` that
    ``torch.jit.save`` writes (a ``torch.save`` file has neither)."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)
