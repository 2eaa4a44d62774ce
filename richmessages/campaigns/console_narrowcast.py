"""The console's LINE narrowcast fields: LINE audiences and demographic filters, to and from the API's audience.

The fields express what an editor usually asks for: members of some LINE audiences, not of others, and an AND
of at most one filter of each kind (gender, app type, age band, areas, how long they have been friends), up
to a number of recipients. An audience set through the API that they cannot express (``or``, ``not``,
nesting) is kept as it is by the form's "as set through the API" choice. The rules stay in
``audiences.validate``, as for the API; its errors are put back on the field that made the filter.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from richmessages.campaigns import audiences

GENDERS = [("male", "Male"), ("female", "Female")]
APP_TYPES = [("ios", "iOS"), ("android", "Android")]
AGE_CHOICES = [("", "Any"), *[(age, age.removeprefix("age_")) for age in audiences.AGES]]
PERIOD_CHOICES = [
    ("", "Any"),
    *[(days, f"{days.removeprefix('day_')} days") for days in audiences.SUBSCRIPTION_PERIODS],
]
FIELDS = (
    "narrowcast_audience_ids",
    "narrowcast_exclude_audience_ids",
    "narrowcast_genders",
    "narrowcast_app_types",
    "narrowcast_age_from",
    "narrowcast_age_to",
    "narrowcast_areas",
    "narrowcast_friends_at_least",
    "narrowcast_friends_less_than",
    "narrowcast_limit",
)
# The fieldset's rows: the two bounds of a range side by side.
ROWS = (
    "narrowcast_audience_ids",
    "narrowcast_exclude_audience_ids",
    "narrowcast_genders",
    "narrowcast_app_types",
    ("narrowcast_age_from", "narrowcast_age_to"),
    "narrowcast_areas",
    ("narrowcast_friends_at_least", "narrowcast_friends_less_than"),
    "narrowcast_limit",
)
ERROR_FIELDS = {
    "audience.audience_group_ids": "narrowcast_audience_ids",
    "audience.exclude_audience_group_ids": "narrowcast_exclude_audience_ids",
    "audience.limit": "narrowcast_limit",
}
# The field whose input made each kind of demographic filter, for the service's errors about that filter.
FILTER_FIELDS = {
    "gender": "narrowcast_genders",
    "appType": "narrowcast_app_types",
    "age": "narrowcast_age_from",
    "area": "narrowcast_areas",
    "subscriptionPeriod": "narrowcast_friends_at_least",
}
CHOICE_FILTERS = {"gender": ("narrowcast_genders", GENDERS), "appType": ("narrowcast_app_types", APP_TYPES)}
RANGE_FILTERS = {
    "age": ("narrowcast_age_from", "narrowcast_age_to"),
    "subscriptionPeriod": ("narrowcast_friends_at_least", "narrowcast_friends_less_than"),
}
_AUDIENCE_KEYS = {"type", "audience_group_ids", "exclude_audience_group_ids", "demographic", "limit"}
_NESTED_ERROR = re.compile(r"^audience\.demographic\.and\[(\d+)\]$")
_NUMBER = re.compile(r"^[0-9]+$")
DESCRIPTION = (
    "LINE chooses who gets it: the members of the LINE audiences given (all friends when none), minus the "
    "excluded ones, who match every filter given. LINE's minimums are checked when the campaign is submitted "
    "for review and again by LINE at send time, with a clear error on the campaign: an audience needs at least "
    "50 users, and demographic filters a reach of at least 100 friends. Holdout, caps, quiet hours and local "
    "time cannot apply."
)


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.replace("\n", ",").split(",") if word.strip()]


class NarrowcastFields(forms.Form):
    narrowcast_audience_ids = forms.CharField(
        label="LINE audiences to include",
        required=False,
        help_text="Comma-separated LINE audience ids (numbers, at most 10). Empty: every friend.",
    )
    narrowcast_exclude_audience_ids = forms.CharField(
        label="LINE audiences to exclude", required=False, help_text="Comma-separated LINE audience ids."
    )
    narrowcast_genders = forms.MultipleChoiceField(
        label="Genders", required=False, choices=GENDERS, widget=forms.CheckboxSelectMultiple, help_text="None: any."
    )
    narrowcast_app_types = forms.MultipleChoiceField(
        label="App types",
        required=False,
        choices=APP_TYPES,
        widget=forms.CheckboxSelectMultiple,
        help_text="None: any.",
    )
    narrowcast_age_from = forms.ChoiceField(label="Age from", required=False, choices=AGE_CHOICES)
    narrowcast_age_to = forms.ChoiceField(
        label="Age below",
        required=False,
        choices=AGE_CHOICES,
        help_text="LINE's age bands: from 20, below 30: aged 20 to 29.",
    )
    narrowcast_areas = forms.CharField(
        label="Areas", required=False, help_text="Comma-separated LINE area codes, e.g. jp_13, th_01. Empty: any."
    )
    narrowcast_friends_at_least = forms.ChoiceField(
        label="Friends for at least", required=False, choices=PERIOD_CHOICES
    )
    narrowcast_friends_less_than = forms.ChoiceField(label="… and less than", required=False, choices=PERIOD_CHOICES)
    narrowcast_limit = forms.IntegerField(
        label="At most (recipients)", required=False, min_value=1, help_text="Empty: everyone LINE finds."
    )

    def clean_narrowcast(self) -> None:
        """Audience ids must be numbers; only checked when the audience is a narrowcast."""
        for name in ("narrowcast_audience_ids", "narrowcast_exclude_audience_ids"):
            bad = [word for word in _words(self.cleaned_data.get(name) or "") if not _NUMBER.match(word)]
            if bad:
                self.add_error(name, f"Not LINE audience ids (numbers): {', '.join(bad[:5])}")

    def narrowcast_audience(self) -> dict[str, Any]:
        """The API's narrowcast audience from the fields."""
        data = self.cleaned_data
        filters: list[dict[str, Any]] = []
        for kind, (name, _choices) in CHOICE_FILTERS.items():
            if data.get(name):
                filters.append({"type": kind, "oneOf": list(data[name])})
        filters.append(self._range("age"))
        areas = [code.lower() for code in _words(data.get("narrowcast_areas") or "")]
        filters.append({"type": "area", "oneOf": areas} if areas else {})
        filters.append(self._range("subscriptionPeriod"))
        filters = [item for item in filters if item]
        self.filter_fields = [FILTER_FIELDS[item["type"]] for item in filters]
        audience: dict[str, Any] = {
            "type": audiences.NARROWCAST,
            "audience_group_ids": [int(word) for word in _words(data.get("narrowcast_audience_ids") or "")],
            "exclude_audience_group_ids": [
                int(word) for word in _words(data.get("narrowcast_exclude_audience_ids") or "")
            ],
        }
        if filters:
            audience["demographic"] = filters[0] if len(filters) == 1 else {"type": "operator", "and": filters}
        if data.get("narrowcast_limit"):
            audience["limit"] = data["narrowcast_limit"]
        return audience

    def _range(self, kind: str) -> dict[str, Any]:
        low, high = RANGE_FILTERS[kind]
        bounds = {
            key: self.cleaned_data[name] for key, name in (("gte", low), ("lt", high)) if self.cleaned_data.get(name)
        }
        return {"type": kind, **bounds} if bounds else {}

    def narrowcast_error_field(self, field: str) -> str | None:
        """The field a service's error about the narrowcast goes to (None: the form's top)."""
        if field in ERROR_FIELDS:
            return ERROR_FIELDS[field]
        made = getattr(self, "filter_fields", [])
        if field == "audience.demographic" and len(made) == 1:
            return made[0]
        nested = _NESTED_ERROR.match(field)
        if nested and int(nested.group(1)) < len(made):
            return made[int(nested.group(1))]
        return None


def _filters_of(demographic: Any) -> list | None:
    if demographic is None:
        return []
    if not isinstance(demographic, dict):
        return None
    if demographic.get("type") != "operator":
        return [demographic]
    if set(demographic) != {"type", "and"} or not isinstance(demographic["and"], list):
        return None
    return demographic["and"]


def initial_of(audience: dict) -> dict[str, Any] | None:
    """The fields' values for a stored narrowcast; None when they cannot express it (or, not, nesting)."""
    filters = _filters_of(audience.get("demographic"))
    if filters is None or set(audience) - _AUDIENCE_KEYS:
        return None
    initial: dict[str, Any] = {
        "narrowcast_audience_ids": ", ".join(map(str, audience.get("audience_group_ids", []))),
        "narrowcast_exclude_audience_ids": ", ".join(map(str, audience.get("exclude_audience_group_ids", []))),
        "narrowcast_limit": audience.get("limit"),
    }
    kinds = [item.get("type") if isinstance(item, dict) else None for item in filters]
    if len(set(kinds)) != len(kinds):
        return None
    for item, kind in zip(filters, kinds, strict=True):
        if kind in CHOICE_FILTERS or kind == "area":
            values = item.get("oneOf")
            if set(item) != {"type", "oneOf"} or not isinstance(values, list):
                return None
            if kind == "area":
                initial["narrowcast_areas"] = ", ".join(values)
                continue
            name, choices = CHOICE_FILTERS[kind]
            if not set(values) <= {value for value, _label in choices}:
                return None
            initial[name] = list(values)
        elif kind in RANGE_FILTERS:
            if not set(item) - {"type"} <= {"gte", "lt"}:
                return None
            low, high = RANGE_FILTERS[kind]
            initial[low], initial[high] = item.get("gte", ""), item.get("lt", "")
        else:
            return None
    return initial


# --- in words, for the campaign's page ------------------------------------------------------------------------
def _number(bound: str) -> str:
    return bound.split("_", 1)[-1]


def _filter_words(item: Any, nested: bool = False) -> str:
    if not isinstance(item, dict):
        return "?"
    kind = item.get("type")
    if kind == "operator":
        for word in ("and", "or"):
            if isinstance(item.get(word), list):
                text = f" {word} ".join(_filter_words(part, nested=True) for part in item[word])
                return f"({text})" if nested else text
        return f"not {_filter_words(item.get('not'), nested=True)}"
    if kind in CHOICE_FILTERS:
        labels = {} if kind == "gender" else dict(APP_TYPES)
        values = " or ".join(labels.get(value, str(value)) for value in item.get("oneOf", []))
        return f"{'gender' if kind == 'gender' else 'app'} {values}"
    if kind == "area":
        return "in area " + " or ".join(map(str, item.get("oneOf", [])))
    if kind in RANGE_FILTERS:
        unit = "" if kind == "age" else " days"
        low, high = item.get("gte"), item.get("lt")
        what = "aged" if kind == "age" else "friends for"
        if low and high:
            return f"{what} {_number(low)} to below {_number(high)}{unit}"
        if low:
            return f"{what} {_number(low)}{unit} or more"
        return f"{what} less than {_number(high)}{unit}"
    return str(kind)


def summary(audience: dict) -> str:
    """A narrowcast audience in words."""
    parts = []
    if audience.get("audience_group_ids"):
        parts.append("members of LINE audiences " + ", ".join(map(str, audience["audience_group_ids"])))
    else:
        parts.append("every friend")
    if audience.get("exclude_audience_group_ids"):
        parts.append("not in LINE audiences " + ", ".join(map(str, audience["exclude_audience_group_ids"])))
    if audience.get("demographic"):
        parts.append(_filter_words(audience["demographic"]))
    if audience.get("limit"):
        parts.append(f"at most {audience['limit']:,} recipients")
    return "LINE narrowcast (LINE chooses the recipients): " + "; ".join(parts)
