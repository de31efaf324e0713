"""Backbones (stages with channels and strides) and the multi-task network."""
