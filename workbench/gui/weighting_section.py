"""The setup's loss-weighting section: the method, what it does, and its parameters.

``WeightingSection`` shows a placeholder until ``set_methods`` gets the registered
weighting classes (Qt-free, from ``workbench.weighting.WEIGHTINGS``); each method's
parameter form is generated from its ``Params`` dataclass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.setup_bindings import _form, _hint, _select_data
from workbench.gui.setup_widgets import DataclassForm, guard_wheel

_NEEDS = {
    "losses": "Uses the task losses only.",
    "shared_param_grads": "Needs per-task gradients of the shared parameters (slower).",
}


def method_groups(methods: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """(heading, classes): the loss weightings, then the methods that need per-task gradients
    of the shared layers (torchjd's aggregators, the plain sum and mean first, and GradNorm)."""
    loss = [c for c in methods if getattr(c, "needs", "losses") == "losses"]
    grad = [c for c in methods if getattr(c, "needs", "losses") != "losses"]
    order = {"baseline": 0}
    grad.sort(key=lambda c: order.get(getattr(getattr(c, "spec", None), "group", ""), 1))
    groups = [("Loss weightings", loss), ("Gradient methods (per-task gradients)", grad)]
    return [(title, group) for title, group in groups if group]


MEASUREMENT_FIELDS = ("conflict_every", "lookahead_affinity")


def _conflict_dataclass() -> type:
    """A dataclass carrying the declarations (label, help, limits) of ``WeightingConfig``'s
    measurement fields, so the form reads what validation reads."""
    from workbench.config import WeightingConfig

    fields = {f.name: f for f in dataclasses.fields(WeightingConfig)}
    return dataclasses.make_dataclass(
        "ConflictMeasurement",
        [
            (
                name,
                type(fields[name].default),  # int, bool: the form's editor kind
                dataclasses.field(default=fields[name].default, metadata=fields[name].metadata),
            )
            for name in MEASUREMENT_FIELDS
        ],
    )


class WeightingSection(QWidget):
    """Edits ``[weighting] method`` and ``params``."""

    changed = Signal(str)  # weighting.method or weighting.params.<method>

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.methods: dict[str, Any] = {}
        self.forms: dict[str, DataclassForm] = {}
        self.nothing_shared = False  # sharing depth 0: gradient methods fall back to the sum
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        form: QFormLayout = _form()
        self.combo = _name_combo()
        from workbench.config import WeightingConfig, field_meta  # plain Python: no torch

        self.combo.setToolTip(
            field_meta(WeightingConfig, "method").help + " Each method's own help is below."
        )
        form.addRow(field_meta(WeightingConfig, "method").label, self.combo)  # as messages name it
        lay.addLayout(form)
        self.info = _hint("")
        lay.addWidget(self.info)
        self.stack = QStackedWidget()
        self.stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        lay.addWidget(self.stack)
        self.conflict_form = DataclassForm(_conflict_dataclass())
        for editor in self.conflict_form.editors.values():
            guard_wheel(editor)
        self.conflict_form.changed.connect(lambda *_: self.changed.emit("weighting.conflict_every"))
        lay.addWidget(self.conflict_form)
        self.combo.activated.connect(lambda *_: self._chosen())

    def set_methods(self, methods: Sequence[Any]) -> None:
        """Fill the choices with the registered weighting classes (after the core loads),
        grouped under headers; a method whose optional solver is missing is greyed out with
        the pip command in its tooltip."""
        self.combo.clear()
        model = self.combo.model()
        for title, group in method_groups(methods):
            self.combo.addItem(title)
            header = model.item(self.combo.count() - 1)
            header.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading, not a choice
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            for cls in group:
                self._add_method(cls)

    def _add_method(self, cls: Any) -> None:
        name = cls.method
        self.methods[name] = cls
        self.combo.addItem(f"   {name}", name)
        index = self.combo.count() - 1
        tip = _plain_doc(cls.__doc__ or "")
        spec = getattr(cls, "spec", None)
        missing = spec.missing() if spec is not None else []
        if missing:
            self.combo.model().item(index).setEnabled(False)
            self.combo.setItemText(index, f"   {name} (needs {', '.join(missing)})")
            tip = f"Not installed: {', '.join(missing)}. Install with: {spec.install_hint()}\n\n{tip}"
        self.combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        params = DataclassForm(cls.Params)
        for editor in params.editors.values():
            guard_wheel(editor)
        params.changed.connect(lambda m=name: self.changed.emit(f"weighting.params.{m}"))
        self.forms[name] = params
        holder = QWidget()
        hl = QVBoxLayout(holder)
        hl.setContentsMargins(6, 0, 0, 0)
        hl.addWidget(params)
        self.stack.addWidget(holder)

    def set_nothing_shared(self, nothing_shared: bool) -> None:
        """Sharing depth 0: say that a gradient method falls back to the plain sum."""
        if nothing_shared != self.nothing_shared:
            self.nothing_shared = nothing_shared
            self.show_method()

    def set_values(self, method: str, params: dict[str, Any]) -> None:
        for params_form in self.forms.values():
            params_form.set_values({})
        _select_data(self.combo, method)
        params_form = self.forms.get(method)
        if params_form is not None:
            params_form.set_values(params)
        self.show_method()

    def set_conflict_every(self, steps: int, lookahead_affinity: bool = False) -> None:
        self.conflict_form.set_values({"conflict_every": steps, "lookahead_affinity": lookahead_affinity})

    def conflict_every(self, fallback: int) -> int:
        value = self.conflict_form.values().get("conflict_every", fallback)
        return value if isinstance(value, int) else fallback

    def lookahead_affinity(self, fallback: bool) -> bool:
        value = self.conflict_form.values().get("lookahead_affinity", fallback)
        return value if isinstance(value, bool) else fallback

    def values(self, fallback_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        method = self.combo.currentData()
        params_form = self.forms.get(method)
        return method, params_form.values() if params_form is not None else dict(fallback_params)

    def editor_for(self, path: str) -> QWidget:
        """The widget of ``weighting.method``, ``weighting.params.<name>`` or ``weighting.conflict_every``."""
        if path in ("weighting.conflict_every", "weighting.lookahead_affinity"):
            return self.conflict_form.editor(path.split(".")[1]) or self.combo
        if path.startswith("weighting.params") and path.count(".") >= 2:
            params_form = self.forms.get(self.combo.currentData())
            editor = params_form.editor(path.split(".")[2]) if params_form is not None else None
            if editor is not None:
                return editor
        return self.combo

    def _chosen(self) -> None:
        self.show_method()
        self.changed.emit("weighting.method")

    def show_method(self) -> None:
        method = self.combo.currentData()
        params_form = self.forms.get(method)
        if params_form is not None:
            page = params_form.parentWidget()
            self.stack.setCurrentWidget(page)
            # the stack as tall as the shown form: it took the tallest (Nash-MTL's five
            # fields), an 80 px gap under a one-field form
            for i in range(self.stack.count()):
                shown = self.stack.widget(i) is page
                policy = QSizePolicy.Policy.Preferred if shown else QSizePolicy.Policy.Ignored
                self.stack.widget(i).setSizePolicy(policy, policy)
            self.stack.adjustSize()
            self.stack.setVisible(not params_form.is_empty())
        else:
            self.stack.setVisible(False)
        cls = self.methods.get(method)
        if cls is None:
            self.info.setText("")
            return
        doc = _plain_doc(cls.__doc__ or "")
        first = doc.split("\n\n")[0].replace("\n", " ")
        needs = _NEEDS.get(getattr(cls, "needs", "losses"), "")
        text = (first.rstrip(".") + ". " + needs).strip()
        if method == "static":
            text += " Set the weights in Tasks."
        spec = getattr(cls, "spec", None)
        if spec is not None and spec.missing():
            text += f" Not installed: {', '.join(spec.missing())}; {spec.install_hint()}."
        if self.nothing_shared and getattr(cls, "needs", "losses") != "losses":
            text += " At sharing depth 0 no layer is shared: the task losses are summed instead."
        self.info.setText(text)
        self.info.setToolTip(doc)


def _plain_doc(doc: str) -> str:
    """A method's docstring as help text: its paragraphs each on one line, single spaces,
    no reST markup ("with     partial labels", "``loss_weight``" showed as written)."""
    paragraphs = [" ".join(p.split()) for p in doc.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p).replace("``", "")


class _IndentedListCombo(QComboBox):
    """The methods indented under their group's heading in the open list; the closed box
    shows the name alone (it showed the list's indentation, "   upgrad")."""

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        option.currentText = option.currentText.strip()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


def _name_combo() -> QComboBox:
    combo = _IndentedListCombo()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return guard_wheel(combo)
