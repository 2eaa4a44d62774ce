"""Forms of the rich-menu admin: the menu with its image and tap areas, and linking users."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError

from conversations.models import LineUser
from conversations.postbacks import postback_actions
from core.unicode import utf16_len
from richmessages.richmenu_areas import area_problems
from richmessages.richmenu_images import MAX_BYTES, richmenu_image_check
from richmessages.richmenu_models import RichMenu

CHAT_BAR_MAX = 14


class AreasEditorWidget(forms.Textarea):
    """The areas as JSON; ``richmenu_editor.js`` draws them over the image and keeps this text in step."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"rows": 12, "cols": 90, "class": "richmenu-areas-json", **(attrs or {})})
        self.image_url = ""
        self.image_size: tuple[int, int] | None = None

    class Media:
        css = {"all": ["richmessages/richmenu_editor.css"]}
        js = ["richmessages/richmenu_editor.js"]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update(
            {
                "data-image-url": self.image_url,
                "data-image-width": self.image_size[0] if self.image_size else "",
                "data-image-height": self.image_size[1] if self.image_size else "",
            }
        )
        return context

    def format_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value if value is not None else [], indent=2, ensure_ascii=False)


class RichMenuForm(forms.ModelForm):
    image = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=(
            "JPEG or PNG, at most 1 MB, 800 to 2500 pixels wide, at least 250 high, and at least 1.45 times as wide "
            "as high (for example 2500x1686 or 2500x843). A new image makes a new menu on LINE."
        ),
    )
    areas = forms.JSONField(
        required=False,
        widget=AreasEditorWidget(),
        help_text=(
            "Draw the tap areas on the image, or edit them here as JSON: a list of {name, x, y, width, height, "
            'action}, where action is {"type": "postback", "data": "action=help"}, {"type": "richmenuswitch", '
            '"alias": "…"}, {"type": "message", "text": "…"} or {"type": "uri", "uri": "https://…"}.'
        ),
    )

    class Meta:
        model = RichMenu
        fields = ["name", "chat_bar_text", "selected", "image", "areas", "is_default", "active"]

    def __init__(self, *args, image_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.checked_image = None
        widget = self.fields["areas"].widget
        widget.image_url = image_url
        if self.instance.pk and self.instance.image_width:
            widget.image_size = (self.instance.image_width, self.instance.image_height)

    def clean_chat_bar_text(self):
        value = self.cleaned_data["chat_bar_text"]
        if utf16_len(value) > CHAT_BAR_MAX:
            raise DjangoValidationError(f"At most {CHAT_BAR_MAX} characters, as LINE counts them (UTF-16 units).")
        return value

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload is False:
            raise DjangoValidationError("A rich menu needs an image; upload another one instead of clearing it.")
        if upload is None or not hasattr(upload, "content_type"):
            if not self.instance.pk:
                raise DjangoValidationError("Upload the menu's image (JPEG or PNG).")
            return self.instance.image
        if getattr(upload, "size", 0) > MAX_BYTES:
            raise DjangoValidationError(f"The file is {upload.size} bytes; LINE takes at most {MAX_BYTES} (1 MB).")
        self.checked_image = richmenu_image_check(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        areas = cleaned.get("areas")
        if areas is None:
            areas = cleaned["areas"] = [] if "areas" not in self.errors else None
        if areas is None:
            return cleaned
        if self.checked_image is not None:
            width, height = self.checked_image.width, self.checked_image.height
        elif self.instance.pk:
            width, height = self.instance.image_width, self.instance.image_height
        else:
            return cleaned  # the image's own error is shown; areas are checked against it once it is right
        problems = area_problems(areas, width=width, height=height, registered=postback_actions())
        if problems:
            self.add_error("areas", problems)
        return cleaned


class LinkUsersForm(forms.Form):
    SEGMENT_NONE, SEGMENT_ACTIVE, SEGMENT_ALL = "", "active", "all"
    line_user_ids = forms.CharField(
        required=False,
        label="LINE user ids",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text="One per line (or separated by commas or spaces), each U followed by 32 hex digits.",
    )
    segment = forms.ChoiceField(
        required=False,
        choices=[(SEGMENT_NONE, "—"), (SEGMENT_ACTIVE, "Active users"), (SEGMENT_ALL, "All users")],
        help_text="Or link every LINE user of a segment, narrowed by language below.",
    )
    language = forms.CharField(
        required=False, max_length=16, help_text="Only users whose language starts with this (en, ja, th)."
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("line_user_ids", "").strip() and not cleaned.get("segment"):
            raise DjangoValidationError("Give LINE user ids or choose a segment.")
        if cleaned.get("line_user_ids", "").strip() and cleaned.get("segment"):
            raise DjangoValidationError("Give LINE user ids or choose a segment, not both.")
        return cleaned

    def segment_user_ids(self) -> list[str]:
        users = LineUser.objects.all()
        if self.cleaned_data["segment"] == self.SEGMENT_ACTIVE:
            users = users.filter(status=LineUser.Status.ACTIVE)
        if self.cleaned_data.get("language"):
            users = users.filter(language__istartswith=self.cleaned_data["language"])
        return list(users.order_by("id").values_list("line_user_id", flat=True))
