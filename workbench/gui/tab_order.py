"""Tab moves through a window in reading order: region by region, then row by row.

Qt's tab order is the order widgets were created in. The window builds its panels in
an order that suits their wiring (the curves before the setup), and forms add rows
later (a task, a method's parameters, a data source's options), which Qt appends to
the end of the chain: Tab went from the plot controls to the setup's name field and
reached the first task row after the runs list. Here the order is worked out from
where the widgets are on screen each time Tab is pressed, so rows added later take
their place.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QScrollArea, QWidget


def _takes_tab_focus(widget: QWidget) -> bool:
    return (
        bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
        and widget.focusProxy() is None  # a spin box's line edit: its spin box stands for it
        and widget.isVisible()
        and widget.isEnabled()
    )


def _rows(widgets: list[tuple[QWidget, int, int, int]]) -> list[QWidget]:
    """Widgets (widget, top, bottom, left) in rows top to bottom, each row left to right.

    A widget shares the row of the row's first widget when each one's vertical centre
    lies within the other's span: a check box and the line edit beside it start a few
    pixels apart, while a tall scroll area beside a field is not on that field's row.
    """

    def centre(item: tuple[QWidget, int, int, int]) -> float:
        return (item[1] + item[2]) / 2

    ordered: list[QWidget] = []
    row: list[tuple[QWidget, int, int, int]] = []
    for item in sorted(widgets, key=lambda w: (w[1], w[3])):
        if row:
            anchor = row[0]
            if anchor[1] <= centre(item) <= anchor[2] and item[1] <= centre(anchor) <= item[2]:
                row.append(item)
                continue
        ordered += [w[0] for w in sorted(row, key=lambda w: w[3])]
        row = [item]
    ordered += [w[0] for w in sorted(row, key=lambda w: w[3])]
    return ordered


def _unscrolled(widget: QWidget, window: QWidget) -> QPoint:
    """Where ``widget`` would be in ``window`` with every scroll area scrolled to the top
    left: once the setup had been scrolled down, its first field sat above the setup."""
    point = widget.mapTo(window, QPoint(0, 0))
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            point += QPoint(parent.horizontalScrollBar().value(), parent.verticalScrollBar().value())
        parent = parent.parentWidget()
    return point


def reading_order(window: QWidget, regions: list[QWidget]) -> list[QWidget]:
    """The widgets of ``window`` that Tab can focus, in reading order.

    ``regions`` are the window's areas in the order a reader takes them (for the main
    window: toolbar, setup, central tabs, runs); the widgets of each come before those of
    the next, and widgets in none of them come last. Only widgets of ``window`` itself
    count: a floating dock is a window of its own, with its own chain.
    """
    groups: list[list[tuple[QWidget, int, int, int]]] = [[] for _ in range(len(regions) + 1)]
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or not _takes_tab_focus(widget):
            continue
        index = len(regions)
        for i, region in enumerate(regions):
            if region is widget or region.isAncestorOf(widget):
                index = i
                break
        top_left = _unscrolled(widget, window)
        groups[index].append((widget, top_left.y(), top_left.y() + widget.height(), top_left.x()))
    return [widget for group in groups for widget in _rows(group)]


def focus_next(window: QWidget, regions: list[QWidget], forward: bool) -> bool:
    """Move the focus of ``window`` to the next (or previous) widget in reading order,
    wrapping around; False when no widget can take it."""
    order = reading_order(window, regions)
    if not order:
        return False
    current = window.focusWidget()
    while current is not None and current not in order and current.focusProxy() is None:
        current = current.parentWidget()  # a widget inside one that takes the focus
    if current is not None and current not in order:
        current = current.focusProxy()
    if current in order:
        index = (order.index(current) + (1 if forward else -1)) % len(order)
    else:
        index = 0 if forward else len(order) - 1
    reason = Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason
    target = order[index]
    target.setFocus(reason)
    parent = target.parentWidget()
    while parent is not None:  # scroll it into view, as Qt's own Tab does in a scroll area
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(target)
        parent = parent.parentWidget()
    return True
