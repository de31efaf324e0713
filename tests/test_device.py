"""Device selection and the mixed-precision policy (the CUDA parts are checked by logic here;
this machine has no GPU)."""

import pytest
import torch

from workbench.training.device import DeviceUnavailable, Precision, list_devices, resolve_device


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    assert resolve_device("auto").type in (expected, "mps", "cpu")
    assert list_devices()[0] == ("cpu", "CPU")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(DeviceUnavailable, match="'cuda:1' was asked for but CUDA is not available"):
        resolve_device("cuda:1")


def test_precision_policy(monkeypatch):
    assert not Precision(torch.device("cpu"), True).enabled  # AMP is a CUDA feature here
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    p = Precision(torch.device("cuda", 0), True)
    assert p.enabled and p.dtype == torch.bfloat16 and p.scaler is None  # bf16 needs no scaling
    assert not Precision(torch.device("cuda", 0), False).enabled


@pytest.mark.filterwarnings("ignore:.*CUDA is not available.*")
def test_precision_type_can_be_chosen(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    cuda = torch.device("cuda", 0)
    assert Precision(cuda, True, "bfloat16").dtype == torch.bfloat16
    fp16 = Precision(cuda, True, "float16")  # forced even where bfloat16 would work
    assert fp16.dtype == torch.float16 and fp16.scaler is not None and fp16.name == "float16"
    assert Precision(torch.device("cpu"), True, "float16").name == "float32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert Precision(cuda, True, "auto").dtype == torch.float16  # a pre-Ampere GPU
    with pytest.raises(DeviceUnavailable, match="amp_dtype = 'bfloat16'.*does not support bfloat16"):
        Precision(cuda, True, "bfloat16")


def test_trainer_reports_missing_device(tmp_path):
    from conftest import tiny_config

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = tiny_config()
    cfg.train.device = "cuda"
    summary = Trainer(cfg, RunStore.create(tmp_path, "x")).run()
    assert summary["status"] == "failed" and "CUDA is not available" in summary["error"]
