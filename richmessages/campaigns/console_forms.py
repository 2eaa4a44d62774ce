"""The console's forms for campaigns: plain forms whose values go to the services as they are.

The forms only turn the page's inputs into the values the API takes (:func:`services.campaign_create`'s
keywords); every rule about what makes a campaign valid stays in ``cleaning``, and its errors are shown
against the field they name.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms

from core.errors import ValidationError
from richmessages.campaigns import audiences, cleaning, console_narrowcast
from richmessages.campaigns.models import Campaign, CampaignRecipient

# A narrowcast set through the API that the narrowcast fields cannot express: kept as it is.
KEEP_NARROWCAST = "narrowcast_as_set"
AUDIENCE_TYPES = [
    (audiences.ALL_FOLLOWERS, "All followers"),
    (audiences.SEGMENT, "A segment of our followers"),
    (audiences.USERS, "A list of LINE user ids"),
    (audiences.NARROWCAST, "LINE narrowcast (LINE audiences and demographic filters)"),
]
ENGAGED_CHOICES = [("", "Either"), ("yes", "Engaged with it"), ("no", "Did not engage with it")]
SEGMENT_FIELDS = (
    "segment_language",
    "segment_followed_after",
    "segment_followed_before",
    "segment_active_within_days",
    "segment_tags",
    "segment_engaged_with_campaign",
    "segment_engaged",
)
AUDIENCE_FIELDS = ("audience_type", *SEGMENT_FIELDS, "line_user_ids", "csv_file", *console_narrowcast.FIELDS)
# Form fields that are also campaign values under the same name.
PLAIN_FIELDS = (
    "name",
    "rich_message",
    "recurrence",
    "timezone",
    "local_time",
    "holdout_percent",
    "frequency_cap_day",
    "frequency_cap_week",
    "cooldown",
    "quiet_hours_start",
    "quiet_hours_end",
)
# Where a service's error about a value is shown, when the form names it differently.
ERROR_FIELDS = {
    "audience": "audience_type",
    "audience.language": "segment_language",
    "audience.followed_after": "segment_followed_after",
    "audience.followed_before": "segment_followed_before",
    "audience.active_within_days": "segment_active_within_days",
    "audience.tags": "segment_tags",
    "audience.engaged_with_campaign": "segment_engaged_with_campaign",
    "audience.engaged": "segment_engaged",
    "audience.line_user_ids": "line_user_ids",
    "file": "csv_file",
    **console_narrowcast.ERROR_FIELDS,
}


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.replace("\n", ",").split(",") if word.strip()]


class CampaignForm(console_narrowcast.NarrowcastFields):
    name = forms.CharField(max_length=cleaning.NAME_MAX_CHARS)
    rich_message = forms.ModelChoiceField(
        queryset=cleaning.rich_message_model().objects.order_by("-created_at"),
        help_text="The rich message every recipient gets.",
    )
    audience_type = forms.ChoiceField(label="Audience", choices=AUDIENCE_TYPES, initial=audiences.ALL_FOLLOWERS)
    segment_language = forms.CharField(
        label="Languages", required=False, help_text="Comma-separated codes, e.g. th, en. Empty: any."
    )
    segment_followed_after = forms.DateField(
        label="Followed after", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    segment_followed_before = forms.DateField(
        label="Followed before", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    segment_active_within_days = forms.IntegerField(
        label="Active within (days)", required=False, min_value=1, max_value=3650
    )
    segment_tags = forms.CharField(label="Tags", required=False, help_text="Comma-separated; every tag must match.")
    segment_engaged_with_campaign = forms.IntegerField(
        label="Campaign (id) engaged with", required=False, min_value=1, help_text="With the choice below."
    )
    segment_engaged = forms.ChoiceField(label="Engagement", choices=ENGAGED_CHOICES, required=False)
    line_user_ids = forms.CharField(
        label="LINE user ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One U… id a line (or comma-separated). Unknown and unfollowed ids are reported and skipped.",
    )
    csv_file = forms.FileField(
        label="… or a CSV file", required=False, help_text="One LINE user id a row in the first column."
    )
    send_at = forms.DateTimeField(
        label="Send at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="In the time zone below. Empty: as soon as it is approved.",
    )
    timezone = forms.CharField(max_length=64, initial="UTC", help_text="IANA zone, e.g. Asia/Bangkok.")
    recurrence = forms.CharField(
        required=False, max_length=500, help_text="RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO. Empty: once."
    )
    local_time = forms.BooleanField(required=False, help_text="At that wall-clock time in each recipient's zone.")
    holdout_percent = forms.IntegerField(
        label="Holdout %", min_value=0, max_value=cleaning.MAX_HOLDOUT, initial=0, help_text="Kept out to measure."
    )
    frequency_cap_day = forms.IntegerField(label="At most per day", required=False, min_value=1, max_value=100)
    frequency_cap_week = forms.IntegerField(label="At most per week", required=False, min_value=1, max_value=100)
    cooldown = forms.BooleanField(required=False, initial=True, help_text="Respect the cooldown between campaigns.")
    quiet_hours_start = forms.TimeField(
        label="Quiet hours from", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_hours_end = forms.TimeField(
        label="Quiet hours until", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    class Media:
        js = ("richmessages/campaign_form.js",)

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        self.campaign = campaign
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_of(campaign)
        super().__init__(*args, **kwargs)
        if campaign is not None and campaign.pk and campaign.variants.exists():
            names = ", ".join(campaign.variants.values_list("name", flat=True))
            self.fields["rich_message"].help_text = (
                f"This campaign is an A/B test ({names}), set through the API: choosing one message here "
                "replaces the variants."
            )
        if self.initial.get("audience_type") == KEEP_NARROWCAST:
            self.fields["audience_type"].choices = [
                (KEEP_NARROWCAST, "LINE narrowcast (as set through the API)"),
                *AUDIENCE_TYPES,
            ]

    @staticmethod
    def fieldsets():
        return [
            (None, {"fields": ["name", "rich_message"]}),
            (
                "Audience",
                {
                    "fields": ["audience_type"],
                    "description": "The recipient count is shown on the campaign's page before it is submitted.",
                },
            ),
            (
                "Segment (when the audience is a segment; every condition given must hold)",
                {"fields": SEGMENT_FIELDS, "classes": ["campaign-audience", f"audience-{audiences.SEGMENT}"]},
            ),
            (
                "List (when the audience is a list of LINE user ids)",
                {
                    "fields": ["line_user_ids", "csv_file"],
                    "classes": ["campaign-audience", f"audience-{audiences.USERS}"],
                },
            ),
            (
                "LINE narrowcast (when the audience is a LINE narrowcast; every filter given must hold)",
                {
                    "fields": console_narrowcast.ROWS,
                    "description": console_narrowcast.DESCRIPTION,
                    "classes": ["campaign-audience", f"audience-{audiences.NARROWCAST}"],
                },
            ),
            ("Schedule", {"fields": ["send_at", "timezone", "recurrence", "local_time"]}),
            (
                "Guards",
                {
                    "fields": [
                        "holdout_percent",
                        "frequency_cap_day",
                        "frequency_cap_week",
                        "cooldown",
                        "quiet_hours_start",
                        "quiet_hours_end",
                    ]
                },
            ),
        ]

    def clean(self):
        data = super().clean()
        if data.get("audience_type") == audiences.NARROWCAST:
            self.clean_narrowcast()
        return data

    # --- to the services' values ---------------------------------------------------------------------------
    def _zone(self) -> ZoneInfo | None:
        try:
            return ZoneInfo(self.cleaned_data.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def _audience(self) -> dict | None:
        data = self.cleaned_data
        kind = data.get("audience_type")
        if kind == KEEP_NARROWCAST:
            return None
        if kind == audiences.SEGMENT:
            audience: dict[str, Any] = {"type": audiences.SEGMENT}
            if data.get("segment_language"):
                audience["language"] = _words(data["segment_language"])
            if data.get("segment_tags"):
                audience["tags"] = _words(data["segment_tags"])
            for name in ("followed_after", "followed_before"):
                if data.get(f"segment_{name}"):
                    audience[name] = data[f"segment_{name}"].isoformat()
            if data.get("segment_active_within_days"):
                audience["active_within_days"] = data["segment_active_within_days"]
            if data.get("segment_engaged_with_campaign"):
                audience["engaged_with_campaign"] = data["segment_engaged_with_campaign"]
                audience["engaged"] = data.get("segment_engaged") != "no"
            return audience
        if kind == audiences.USERS:
            upload = data.get("csv_file")
            ids = audiences.parse_csv(upload.read()) if upload else _words(data.get("line_user_ids") or "")
            return {"type": audiences.USERS, "line_user_ids": ids}
        if kind == audiences.NARROWCAST:
            return self.narrowcast_audience()
        return {"type": audiences.ALL_FOLLOWERS}

    def values(self) -> dict[str, Any]:
        """Every value of the form, as :func:`services.campaign_create` takes them. ValidationError if the
        uploaded file is not a list of LINE user ids."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in PLAIN_FIELDS}
        values["recurrence"] = values["recurrence"] or ""
        values["timezone"] = values["timezone"] or "UTC"
        send_at = data.get("send_at")
        if send_at is not None:
            zone = self._zone()
            # An unknown zone is named by cleaning's own check of "timezone"; UTC only to get that far.
            send_at = send_at.replace(tzinfo=zone or ZoneInfo("UTC"))
        values["send_at"] = send_at
        audience = self._audience()
        if audience is not None:
            values["audience"] = audience
        return values

    def changes(self) -> dict[str, Any]:
        """Only what the form changed, for :func:`services.campaign_update`."""
        values = self.values()
        changed = set(self.changed_data)
        result = {name: values[name] for name in PLAIN_FIELDS if name in changed}
        if "send_at" in changed or "timezone" in changed:
            result["send_at"] = values["send_at"]
        if "audience" in values and changed & set(AUDIENCE_FIELDS):
            result["audience"] = values["audience"]
        return result

    def add_service_errors(self, error: ValidationError) -> None:
        for field, problems in (error.details or {"": [error.message]}).items():
            name = ERROR_FIELDS.get(field) or self.narrowcast_error_field(field) or field
            if name.startswith("audience.line_user_ids"):
                name = "line_user_ids"
            for problem in problems if isinstance(problems, list) else [problems]:
                if name in self.fields:
                    self.add_error(name, problem)
                else:
                    self.add_error(None, f"{field}: {problem}" if field else problem)


def initial_of(campaign: Campaign) -> dict[str, Any]:
    """The form's values for a stored campaign."""
    initial: dict[str, Any] = {name: getattr(campaign, name) for name in PLAIN_FIELDS}
    initial["rich_message"] = campaign.rich_message_id
    zone = ZoneInfo(campaign.timezone or "UTC")
    initial["send_at"] = campaign.send_at.astimezone(zone).replace(tzinfo=None) if campaign.send_at else None
    audience = campaign.audience or {}
    kind = audience.get("type", audiences.ALL_FOLLOWERS)
    initial["audience_type"] = kind
    if kind == audiences.SEGMENT:
        initial["segment_language"] = ", ".join(audience.get("language", []))
        initial["segment_tags"] = ", ".join(audience.get("tags", []))
        for name in ("followed_after", "followed_before"):
            if audience.get(name):
                initial[f"segment_{name}"] = datetime.fromisoformat(audience[name]).date()
        initial["segment_active_within_days"] = audience.get("active_within_days")
        initial["segment_engaged_with_campaign"] = audience.get("engaged_with_campaign")
        if audience.get("engaged_with_campaign"):
            initial["segment_engaged"] = "yes" if audience.get("engaged", True) else "no"
    elif kind == audiences.USERS:
        initial["line_user_ids"] = "\n".join(audience.get("line_user_ids", []))
    elif kind == audiences.NARROWCAST:
        fields = console_narrowcast.initial_of(audience)
        initial.update(fields or {"audience_type": KEEP_NARROWCAST})
    return initial


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when sending it back: say what should change.",
    )


class RecipientFilter(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *CampaignRecipient.Status.choices], required=False)
    reason = forms.ChoiceField(choices=[("", "Any reason"), *CampaignRecipient.Reason.choices], required=False)


def quiet_hours(campaign: Campaign) -> str:
    start, end = campaign.quiet_hours_start, campaign.quiet_hours_end
    if not isinstance(start, time) or not isinstance(end, time):
        return "none"
    return f"{start:%H:%M} to {end:%H:%M} local time"
