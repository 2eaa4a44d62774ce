from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import api_keys, roles
from accounts.models import ApiKey, AuditEvent
from core.errors import ValidationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user("robot-owner", role=roles.OPERATOR, device=True)


def _call(api_client, key: str, path="/api/v1/me"):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api_client.get(path)


def test_it_stores_only_a_keyed_hash_of_the_secret(owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    prefix, secret = issued.plaintext.split(".", 1)
    stored = ApiKey.objects.get(prefix=prefix)
    assert secret not in stored.secret_hash
    assert len(stored.secret_hash) == 64
    assert not ApiKey.objects.filter(secret_hash__contains=secret).exists()
    assert AuditEvent.objects.get(action="api_key_created").details["scopes"] == ["me:read"]


def test_it_authenticates_a_key_and_records_its_last_use(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    response = _call(api_client, issued.plaintext)
    assert response.status_code == 200
    assert response.json()["auth"] == "api_key"
    assert response.json()["scopes"] == ["me:read"]
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None
    assert AuditEvent.objects.filter(action="api_key_used", target=f"api_key:{issued.api_key.prefix}").exists()


def test_it_refuses_a_wrong_secret_with_a_real_prefix(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    assert _call(api_client, f"{issued.api_key.prefix}.wrong-secret").status_code == 401


def test_it_audits_a_wrong_secret_with_a_real_prefix(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    _call(api_client, f"{issued.api_key.prefix}.wrong-secret")
    assert AuditEvent.objects.get(action="api_key_rejected").details["reason"] == "unknown"


@pytest.mark.parametrize("presented", ["no-dot-here", ".secret", "prefix.", "x" * 40 + ".y"])
def test_it_refuses_a_malformed_key(api_client, owner, presented):
    assert _call(api_client, presented).status_code == 401


def test_it_refuses_a_key_without_the_endpoint_scope(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["conversations:read"])
    response = _call(api_client, issued.plaintext)
    assert response.status_code == 403
    denial = AuditEvent.objects.get(action="permission_denied")
    assert denial.actor == owner
    assert denial.details["api_key"] == issued.api_key.prefix


def test_it_lets_no_key_manage_keys_whatever_its_scopes(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=sorted(api_keys.SCOPES))
    assert _call(api_client, issued.plaintext, "/api/v1/api-keys/").status_code == 403


def test_it_rejects_unknown_scopes():
    with pytest.raises(ValidationError, match="unknown scope"):
        api_keys.api_key_create(user=None, name="ci", scopes=["root:everything"])


def test_it_refuses_an_expired_key(api_client, owner):
    issued = api_keys.api_key_create(
        user=owner, name="ci", scopes=["me:read"], expires_at=timezone.now() + timedelta(hours=1)
    )
    assert _call(api_client, issued.plaintext).status_code == 200
    ApiKey.objects.filter(pk=issued.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _call(api_client, issued.plaintext).status_code == 401
    assert AuditEvent.objects.filter(action="api_key_rejected", details__reason="expired").exists()


def test_it_rejects_an_expiry_in_the_past_at_creation(owner):
    with pytest.raises(ValidationError):
        api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"], expires_at=timezone.now())


def test_it_accepts_both_keys_after_rotation_until_the_overlap_ends(api_client, owner):
    old = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    new = api_keys.api_key_rotate(api_key=old.api_key, actor=owner, overlap=timedelta(hours=1))
    assert new.api_key.scopes == ["me:read"]
    assert _call(api_client, old.plaintext).status_code == 200
    assert _call(api_client, new.plaintext).status_code == 200
    old.api_key.refresh_from_db()
    assert old.api_key.replaced_by == new.api_key
    assert timedelta(minutes=59) < old.api_key.expires_at - timezone.now() <= timedelta(hours=1)
    # The overlap ends.
    ApiKey.objects.filter(pk=old.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _call(api_client, old.plaintext).status_code == 401
    assert _call(api_client, new.plaintext).status_code == 200
    assert AuditEvent.objects.get(action="api_key_rotated").details["new_prefix"] == new.api_key.prefix


def test_it_rotates_a_key_only_once(owner):
    old = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    api_keys.api_key_rotate(api_key=old.api_key, actor=owner)
    with pytest.raises(ValidationError):
        api_keys.api_key_rotate(api_key=old.api_key, actor=owner)


def test_it_stops_a_revoked_key_at_once(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    api_keys.api_key_revoke(api_key=issued.api_key, actor=owner)
    assert _call(api_client, issued.plaintext).status_code == 401
    assert AuditEvent.objects.filter(action="api_key_revoked").count() == 1
    api_keys.api_key_revoke(api_key=issued.api_key, actor=owner)
    assert AuditEvent.objects.filter(action="api_key_revoked").count() == 1


def test_it_refuses_a_key_of_a_deactivated_user(api_client, owner):
    issued = api_keys.api_key_create(user=owner, name="ci", scopes=["me:read"])
    owner.is_active = False
    owner.save()
    assert _call(api_client, issued.plaintext).status_code == 401
