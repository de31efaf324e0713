"""Training: the trainer and its loop, run folders, checkpoints, evaluation and the
events the GUI and the CLI follow. Qt-free, like the rest of the core."""
