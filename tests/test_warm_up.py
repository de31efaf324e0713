"""warm_up exercises every task kind, so the app's threads find torch initialised."""

import subprocess
import sys
import textwrap

from workbench.tasks import TASK_KINDS


def test_warm_up_runs_every_task_kind_and_loads_the_lazy_parts():
    # A fresh interpreter: the meta device's function mode and torchvision's box operators
    # are loaded by the warm-up, not later by whichever thread comes first.
    code = textwrap.dedent(
        """
        import sys
        from workbench.training.warm_up import exercise
        lazy = ("torch.utils._device", "torchvision.ops.boxes")
        print(",".join(m for m in lazy if m in sys.modules))
        print(",".join(exercise()))
        print(",".join(m for m in lazy if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    before, kinds, after = out.stdout.split("\n")[:3]
    assert sorted(kinds.split(",")) == sorted(TASK_KINDS.names())
    assert after.split(",") == ["torch.utils._device", "torchvision.ops.boxes"]
    assert "torch.utils._device" not in before
