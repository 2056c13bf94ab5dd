import json

from django import template

register = template.Library()


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@register.filter
def audit_changes(entry) -> list[dict]:
    """An audit entry's before/after as rows: {"field", "before", "after"} (missing side: None)."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    rows = []
    for key in list(before) + [k for k in after if k not in before]:
        rows.append(
            {
                "field": key,
                "before": _text(before[key]) if key in before else None,
                "after": _text(after[key]) if key in after else None,
            }
        )
    return rows
