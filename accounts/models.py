from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Staff and API users. Defined from the first migration so it can grow later."""

    class Meta:
        db_table = "accounts_user"
