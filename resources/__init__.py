"""The workbench's resources: application icon (SVG and PNGs), the Linux .desktop entry and
the Qt stylesheet. Installed as the package ``workbench_resources`` (see pyproject.toml) and
read through ``importlib.resources`` (``workbench.gui.app_resources``), so they load from an
installed wheel as from a checkout. The PNGs are rendered from the SVG with Qt:
``python -m workbench.gui.app_resources --render-icons``.
"""
