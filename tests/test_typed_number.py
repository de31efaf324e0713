"""Numbers typed into the setup's spin boxes: Qt kept 5 for "0,5", 5 for "-5", 15 for
"1,5" and the old value for "15" where 1 is the maximum, all without a word. A decimal
comma now reads as a point; what cannot be kept is refused aloud, and the value the field
had before the edit stays."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget  # noqa: E402

from workbench.gui.typed_number import parse_typed, refusal  # noqa: E402


@pytest.mark.parametrize(
    ("text", "integer", "value"),
    [
        ("0,5", False, 0.5),
        ("0.005", False, 0.005),
        ("1e-3", False, 0.001),
        ("1,000.5", False, None),  # a thousands separator: ambiguous, refused
        ("1,000", False, None),  # a thousand, or 1.0 with a decimal comma: refused
        ("12,5", False, 12.5),
        ("1,0005", False, 1.0005),
        ("nan", False, None),
        ("inf", False, None),
        ("12", True, 12),
        ("-5", True, -5),
        ("1,5", True, None),
        ("1e3", True, None),
        ("1.0", True, None),
        ("", True, None),
    ],
)
def test_what_typed_text_means(text, integer, value):
    assert parse_typed(text, integer) == value


def test_refusal_reasons():
    assert refusal("15", 15.0, 0.0, 1.0, False) == "above the maximum 1"
    assert refusal("-5", -5, 1, 1000, True) == "below the minimum 1"
    assert refusal("1,5", None, 1, 1000, True) == "not a whole number"
    assert refusal("x", None, 0.0, 1.0, False) == "not a number"
    assert refusal(" ", None, 0.0, 1.0, False) == "a value is needed"
    assert refusal("nan", None, 0.0, 1.0, False) == "not a finite number"
    assert refusal("1,000", None, 0.0, 1e9, False) == "1000 or 1.000? write it without the comma"
    # limits as validation writes them: 2592000, not 2.592e+06
    assert refusal("2592000.5", 2592000.5, 0.0, 2592000.0, False) == "above the maximum 2592000"
    assert refusal("2", 2.0, 0.0, 1e-6, False) == "above the maximum 1e-06"
    assert refusal("-inf", None, 0.0, 1.0, False) == "not a finite number"
    # an excluded end (a limit declared gt / lt): the end itself is refused
    assert refusal("0", 0.0, 0.0, 1.0, False, open_low=True) == "must be above 0"
    assert refusal("1", 1.0, 0.0, 1.0, False, open_high=True) == "must be below 1"
    assert refusal("-1", -1.0, 0.0, 1.0, False, open_low=True) == "must be above 0"


@pytest.fixture
def boxes(qtbot):
    from workbench.gui.setup_widgets import FloatSpinBox, int_spin

    holder = QWidget()
    lay = QVBoxLayout(holder)
    lr = FloatSpinBox(0.0, 1.0, 0.1)
    lr.setValue(0.002)
    lr.setAccessibleName("Learning rate")
    epochs = int_spin(1, 1000)
    epochs.setValue(9)
    epochs.setAccessibleName("Epochs")
    other = QLineEdit()
    for widget in (lr, epochs, other):
        lay.addWidget(widget)
    qtbot.addWidget(holder)
    holder.show()
    qtbot.waitExposed(holder)
    yield lr, epochs, other
    holder.close()  # the boxes live as long as their holder, kept here


def type_into(qtbot, box, other, text, leave="tab"):
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    if leave == "enter":
        qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    else:
        other.setFocus()


@pytest.mark.parametrize(
    ("text", "value", "said"),
    [
        ("0,5", 0.5, ""),
        ("0,005", 0.005, ""),
        ("15", 0.002, "Learning rate: “15”: above the maximum 1; kept 0.002"),
        ("99999999999", 0.002, "Learning rate: “99999999999”: above the maximum 1; kept 0.002"),
        # letters of a non-finite number stay while typed, then are refused naming them
        ("nan", 0.002, "Learning rate: “nan”: not a finite number; kept 0.002"),
        ("inf", 0.002, "Learning rate: “inf”: not a finite number; kept 0.002"),
        # the declared limit is lr > 0: 0 is refused aloud like any other value out of range
        ("0", 0.002, "Learning rate: “0”: must be above 0; kept 0.002"),
        ("1e-400", 0.002, "Learning rate: “1e-400”: must be above 0; kept 0.002"),
    ],
)
def test_float_fields(qtbot, boxes, text, value, said):
    lr, _epochs, other = boxes
    lr.open_low = True  # as apply_field_meta sets for optim.lr (gt=0)
    heard = []
    lr.refused.connect(heard.append)
    type_into(qtbot, lr, other, text)
    assert lr.value() == value
    assert heard == ([said] if said else [])


@pytest.mark.parametrize(
    ("text", "value", "said"),
    [
        ("12", 12, ""),
        ("-5", 9, "Epochs: “-5”: below the minimum 1; kept 9"),
        ("1,5", 9, "Epochs: “1,5”: not a whole number; kept 9"),
        ("1e-12", 9, "Epochs: “1e-12”: not a whole number; kept 9"),
        ("5000", 9, "Epochs: “5000”: above the maximum 1000; kept 9"),
    ],
)
@pytest.mark.parametrize("leave", ["tab", "enter"])
def test_whole_number_fields(qtbot, boxes, text, value, said, leave):
    _lr, epochs, other = boxes
    heard = []
    epochs.refused.connect(heard.append)
    type_into(qtbot, epochs, other, text, leave)
    assert epochs.value() == value
    assert heard == ([said] if said else [])


def test_the_window_says_what_it_did_not_keep(window, qtbot):
    box = window.setup._widget_for("optim.lr")[0]
    before = window.setup.config().optim.lr
    type_into(qtbot, box, window.setup._widget_for("train.epochs")[0], "15")
    assert window.setup.config().optim.lr == before
    assert window.statusBar().full_message().startswith("Not kept: ")
    assert "“15”: above the maximum" in window.statusBar().full_message()
    type_into(qtbot, box, window.setup._widget_for("train.epochs")[0], "0,01")
    assert window.setup.config().optim.lr == 0.01
