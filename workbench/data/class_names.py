"""Class names in text: a list of them must read as the names it holds.

Names come from users' annotation files and may hold anything: "rouge, vif" in a list joined
by ", " read as two classes. A name that could be misread (a comma, a quote, spaces at
either end, nothing at all) is shown in double quotes, JSON-escaped; the others as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


def shown_name(name: str) -> str:
    """``name`` as it is, or quoted when a list of names would misread it."""
    plain = name and name == name.strip() and not any(c in name for c in ",;\"'\n\t")
    return name if plain else json.dumps(name, ensure_ascii=False)


def names_text(names: Iterable[str], limit: int = 0) -> str:
    """The names joined by ", ", each as ``shown_name`` gives it; with ``limit`` > 0, the
    first ``limit`` and "and N more"."""
    names = list(names)
    shown = names[:limit] if limit > 0 else names
    text = ", ".join(shown_name(n) for n in shown)
    return text + (f" and {len(names) - len(shown)} more" if len(shown) < len(names) else "")
