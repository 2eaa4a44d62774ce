"""Creates one Operator with a TOTP device and N signed-in, MFA-verified sessions; prints their keys."""

import sys
import time

import django

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from accounts import roles  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.sessions import LAST_SEEN, STARTED_AT  # noqa: E402

n = int(sys.argv[1])
user, _ = User.objects.get_or_create(username="bench-viewer", defaults={"is_staff": True})
user.set_password("bench-viewer-password-0123")
user.is_staff = True
user.save()
user.groups.add(Group.objects.get(name=roles.OPERATOR))
device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
    user=user, name="bench", confirmed=True
)
now = time.time()
for _ in range(n):
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            DEVICE_ID_SESSION_KEY: device.persistent_id,
            STARTED_AT: now,
            LAST_SEEN: now,
        }
    )
    session.save()
    print(session.session_key)
