"""The Qt desktop app: one client of the Qt-free core.

Start-up rule: importing this package, ``workbench.gui.app`` or ``workbench.gui.main_window``
must not import torch. The core (torch, torchvision, torchmetrics and the registries) is
loaded after the window shows, by ``workbench.gui.core_loader.CoreLoader``.
"""
