import time

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import roles

PASSWORD = "correct horse battery staple 9"


def totp_code(device: TOTPDevice, *, offset: int = 0) -> str:
    """The code an authenticator app shows now for ``device`` (``offset`` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def fresh_code(device: TOTPDevice) -> str:
    """A code the device has not accepted yet (a TOTP code is accepted only once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return totp_code(device, offset=1 if totp.t() <= device.last_t else 0)


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, role=None, password=PASSWORD, staff=None, device=False):
        user = django_user_model.objects.create_user(username, password=password, email=f"{username}@example.test")
        if role:
            user.groups.add(Group.objects.get(name=role))
        user.is_staff = bool(role) if staff is None else staff
        user.save()
        if device:
            TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        return user

    return make


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def administrator(make_user):
    return make_user("root-admin", role=roles.ADMINISTRATOR, device=True)


@pytest.fixture(autouse=True)
def _private_security_counters(settings):
    import uuid

    settings.SECURITY_REDIS_PREFIX = f"test-security-{uuid.uuid4().hex}"
