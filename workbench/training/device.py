"""Device selection and the mixed-precision policy."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch


class DeviceUnavailable(RuntimeError):
    pass


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"device {name!r} was asked for but CUDA is not available here")
        index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceUnavailable(
                f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise DeviceUnavailable("device 'mps' was asked for but MPS is not available here")
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{device} ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
    return str(device)


def list_devices() -> list[tuple[str, str]]:
    """(value, label) of every device here: CPU, each CUDA GPU with memory, MPS."""
    devices = [("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append((f"cuda:{i}", f"cuda:{i} {props.name} ({props.total_memory / 2**30:.0f} GiB)"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(("mps", "Apple MPS"))
    return devices


class Precision:
    """Autocast on CUDA: bfloat16 (no loss scaling) or float16 with a GradScaler.

    ``dtype`` is ``train.amp_dtype``: "auto" takes bfloat16 where the GPU supports it (compute
    capability 8.0 and newer), else float16. Asking for bfloat16 on a GPU without it raises
    ``DeviceUnavailable``. On the CPU and MPS, autocast stays off (float32).
    """

    def __init__(self, device: torch.device, enabled: bool, dtype: str = "auto") -> None:
        self.enabled = enabled and device.type == "cuda"
        self.dtype = None
        self.scaler: torch.amp.GradScaler | None = None
        if self.enabled:
            bf16 = torch.cuda.is_bf16_supported()
            if dtype == "bfloat16" and not bf16:
                raise DeviceUnavailable(
                    f"train.amp_dtype = 'bfloat16' but {device} does not support bfloat16"
                )
            use_bf16 = dtype == "bfloat16" or (dtype == "auto" and bf16)
            self.dtype = torch.bfloat16 if use_bf16 else torch.float16
            if self.dtype == torch.float16:
                self.scaler = torch.amp.GradScaler("cuda")
        self.device_type = device.type

    def autocast(self) -> AbstractContextManager:
        if not self.enabled:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return self.scaler.scale(loss) if self.scaler else loss

    @property
    def name(self) -> str:
        return str(self.dtype).replace("torch.", "") if self.enabled else "float32"
