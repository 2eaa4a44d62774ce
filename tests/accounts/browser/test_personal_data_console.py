"""Erasing a LINE user from the console in a real browser: the action, the warning page, the result."""

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from conversations.models import Conversation, LineUser, Message
from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
USER = "U" + "9" * 32


def test_it_lets_an_administrator_erase_a_line_user_after_confirming(console, django_user_model):
    admin_user = django_user_model.objects.create_user("adele", password="pw-long-123456", is_staff=True)
    admin_user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    line_user = LineUser.objects.create(line_user_id=USER, display_name="Somchai")
    conversation = Conversation.objects.create(source_type="user", source_id=USER, user=line_user)
    Message.objects.create(conversation=conversation, line_user=line_user, role="user", content="my address is …")
    page = console(admin_user)

    page.goto("/admin/conversations/lineuser/")
    page.locator(f"input[name='_selected_action'][value='{line_user.pk}']").check()
    page.select_option("select[name='action']", "erase_personal_data")
    page.click("button[name='index']")
    page.wait_for_selector("text=This cannot be undone.")
    screenshot(page, "personal-data-erase-confirm", full_page=True)
    assert Message.objects.filter(content="my address is …").exists()

    page.click("input[name='confirm_erase']")
    page.wait_for_selector(".messagelist")
    screenshot(page, "personal-data-erased", full_page=True)

    assert "erased" in page.locator(".messagelist").inner_text()
    assert not LineUser.objects.filter(line_user_id=USER).exists()
    assert not Message.objects.filter(content="my address is …").exists()
