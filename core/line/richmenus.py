"""The rich-menu calls of :class:`core.line.client.LineClient`: create, image, default, links and aliases."""

from __future__ import annotations

from core.errors import LineApiError
from core.line.results import RichMenuSummary

# LINE links or unlinks at most this many users per bulk call.
RICH_MENU_BULK_MAX = 500


def _sdk():
    from core.line import sdk

    return sdk


def _rich_menu(rich_menu: dict):
    return _sdk().RichMenuRequest.from_dict(rich_menu)


def _check_bulk(user_ids: list[str]) -> None:
    if not 1 <= len(user_ids) <= RICH_MENU_BULK_MAX:
        raise ValueError(f"a bulk rich-menu call takes 1 to {RICH_MENU_BULK_MAX} users, not {len(user_ids)}")


class RichMenuCalls:
    # A rich menu is passed in as LINE's own JSON object ({"size": ..., "areas": [...]}).
    def validate_rich_menu(self, rich_menu: dict) -> None:
        self._call("richmenu_validate", self.api.validate_rich_menu_object_with_http_info, _rich_menu(rich_menu))

    def create_rich_menu(self, rich_menu: dict) -> str:
        response = self._call("richmenu_create", self.api.create_rich_menu_with_http_info, _rich_menu(rich_menu))
        return response.data.rich_menu_id

    def list_rich_menus(self) -> list[RichMenuSummary]:
        response = self._call("richmenu_list", self.api.get_rich_menu_list_with_http_info)
        return [
            RichMenuSummary(rich_menu_id=menu.rich_menu_id, name=menu.name or "")
            for menu in response.data.richmenus or []
        ]

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu_delete", self.api.delete_rich_menu_with_http_info, rich_menu_id)

    def set_rich_menu_image(self, rich_menu_id: str, data: bytes, *, content_type: str) -> None:
        # The image goes to the data API host (api-data.line.me), like every upload.
        self._call(
            "richmenu_image",
            self.blob.set_rich_menu_image_with_http_info,
            rich_menu_id,
            data,
            _headers={"Content-Type": content_type},
        )

    def rich_menu_has_image(self, rich_menu_id: str) -> bool:
        try:
            self._call("richmenu_image_get", self.blob.get_rich_menu_image_with_http_info, rich_menu_id)
        except LineApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu_default", self.api.set_default_rich_menu_with_http_info, rich_menu_id)

    def default_rich_menu_id(self) -> str | None:
        try:
            response = self._call("richmenu_default_get", self.api.get_default_rich_menu_id_with_http_info)
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.rich_menu_id

    def cancel_default_rich_menu(self) -> None:
        self._call("richmenu_default_cancel", self.api.cancel_default_rich_menu_with_http_info)

    def link_rich_menu_to_user(self, user_id: str, rich_menu_id: str) -> None:
        self._call("richmenu_link", self.api.link_rich_menu_id_to_user_with_http_info, user_id, rich_menu_id)

    def link_rich_menu_to_users(self, user_ids: list[str], rich_menu_id: str) -> None:
        """Links up to :data:`RICH_MENU_BULK_MAX` users in one call (LINE applies it asynchronously)."""
        _check_bulk(user_ids)
        request = _sdk().RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=list(user_ids))
        self._call("richmenu_bulk_link", self.api.link_rich_menu_id_to_users_with_http_info, request)

    def unlink_rich_menu_from_user(self, user_id: str) -> None:
        self._call("richmenu_unlink", self.api.unlink_rich_menu_id_from_user_with_http_info, user_id)

    def unlink_rich_menu_from_users(self, user_ids: list[str]) -> None:
        _check_bulk(user_ids)
        request = _sdk().RichMenuBulkUnlinkRequest(userIds=list(user_ids))
        self._call("richmenu_bulk_unlink", self.api.unlink_rich_menu_id_from_users_with_http_info, request)

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = _sdk().CreateRichMenuAliasRequest(richMenuAliasId=alias_id, richMenuId=rich_menu_id)
        self._call("richmenu_alias_create", self.api.create_rich_menu_alias_with_http_info, request)

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = _sdk().UpdateRichMenuAliasRequest(richMenuId=rich_menu_id)
        self._call("richmenu_alias_update", self.api.update_rich_menu_alias_with_http_info, alias_id, request)

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        self._call("richmenu_alias_delete", self.api.delete_rich_menu_alias_with_http_info, alias_id)
