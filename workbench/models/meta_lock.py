"""One lock between building models on PyTorch's "meta" device and training in another
thread of the same process.

The setup panel builds networks on the meta device in a background thread to count their
parameters (``gui/setup_jobs.compute_counts``): torch's Python decompositions under a
device mode. Overlapping with a training step's backward pass in the trainer thread, this
deadlocked once (a GUI test: both threads blocked on locks inside torch for good). The
trainer holds ``META_LOCK`` for each step and validation batch, the builder for each
build, so the two never overlap; neither waits long (a step, or a build of about 0.1 s).
"""

from __future__ import annotations

import threading

META_LOCK = threading.Lock()
