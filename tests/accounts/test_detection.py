import pytest
from django.test import Client
from django.urls import reverse

from accounts import detection, roles
from accounts.models import AuditEvent, KnownLoginAddress
from monitoring.models import Alert
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_raises_one_alert_for_a_burst_of_failures_on_one_account(settings):
    settings.SECURITY_ACCOUNT_FAILURE_THRESHOLD = 3
    for _ in range(5):
        detection.login_failure_seen(username="alice")
    alert = Alert.objects.get(kind="login_failure_burst_account")
    assert alert.details["username"] == "alice"
    assert alert.severity == "warning"
    assert AuditEvent.objects.filter(action="suspicious_activity", target="user:alice").count() == 1


def test_it_raises_nothing_for_failures_below_the_threshold(settings):
    settings.SECURITY_ACCOUNT_FAILURE_THRESHOLD = 3
    detection.login_failure_seen(username="alice")
    detection.login_failure_seen(username="alice")
    detection.login_failure_seen(username="bob")
    assert not Alert.objects.exists()


def test_it_raises_a_critical_alert_for_a_burst_across_many_accounts(settings):
    settings.SECURITY_GLOBAL_FAILURE_THRESHOLD = 4
    for name in ("a", "b", "c", "d"):
        detection.login_failure_seen(username=name)
    alert = Alert.objects.get(kind="login_failure_burst_global")
    assert alert.severity == "critical"
    assert not Alert.objects.filter(kind="login_failure_burst_account").exists()


def test_it_feeds_real_login_failures_to_the_detector(settings, make_user):
    settings.SECURITY_ACCOUNT_FAILURE_THRESHOLD = 2
    make_user("target", role=roles.OPERATOR)
    client = Client()
    for _ in range(2):
        client.post(reverse("admin:login"), {"username": "target", "password": "wrong password!!"})
    assert Alert.objects.filter(kind="login_failure_burst_account").exists()


def test_it_raises_an_alert_for_a_staff_login_from_a_never_seen_address(make_user):
    make_user("ops", role=roles.OPERATOR)
    login = {"username": "ops", "password": PASSWORD}
    Client(REMOTE_ADDR="192.0.2.1").post(reverse("admin:login"), login)
    assert not Alert.objects.exists()  # the first login ever has nothing to compare with
    Client(REMOTE_ADDR="192.0.2.1").post(reverse("admin:login"), login)
    assert not Alert.objects.exists()
    Client(REMOTE_ADDR="192.0.2.77").post(reverse("admin:login"), login)
    alert = Alert.objects.get(kind="staff_login_new_ip")
    assert alert.details == {"username": "ops", "ip_address": "192.0.2.77"}
    assert AuditEvent.objects.filter(action="suspicious_activity", ip_address="192.0.2.77").exists()
    assert set(KnownLoginAddress.objects.values_list("ip_address", flat=True)) == {"192.0.2.1", "192.0.2.77"}


def test_it_raises_no_alert_for_a_non_staff_login_from_a_new_address(make_user):
    user = make_user("customer", staff=False)
    detection.staff_login_seen(user=user, ip_address="192.0.2.1")
    assert detection.staff_login_seen(user=user, ip_address="192.0.2.2") is False
    assert not Alert.objects.exists()


def test_it_rejects_an_alert_of_unknown_severity():
    from core.errors import ValidationError
    from monitoring.services import alert_raise

    with pytest.raises(ValidationError):
        alert_raise(kind="x", severity="apocalyptic", message="m")
    assert not Alert.objects.exists()
