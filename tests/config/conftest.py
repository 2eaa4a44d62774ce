import pytest
from django.contrib.auth.models import Group, Permission

from accounts.ratelimit import reset_tightening_cache
from core.config import runtime


@pytest.fixture(autouse=True)
def _fresh_runtime_state():
    """Values cached by one test (possibly inside a rolled-back transaction) never reach the next."""
    runtime.state.reset()
    reset_tightening_cache()
    yield
    runtime.state.reset()


def _user(django_user_model, username, **extra):
    return django_user_model.objects.create_user(
        username=username, password="a-long-test-password-123", is_staff=True, **extra
    )


@pytest.fixture
def administrator(django_user_model):
    user = _user(django_user_model, "ada")
    group, _ = Group.objects.get_or_create(name="Administrator")
    user.groups.add(group)
    return user


@pytest.fixture
def operator(django_user_model):
    """May change runtime settings, but is not an Administrator."""
    user = _user(django_user_model, "otto")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core",
            codename__in=["view_runtimesetting", "change_runtimesetting", "view_runtimesettingversion"],
        )
    )
    return user


@pytest.fixture
def analyst(django_user_model):
    user = _user(django_user_model, "ann")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core", codename__in=["view_runtimesetting", "view_runtimesettingversion"]
        )
    )
    return user
