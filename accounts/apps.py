from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


def _sync_roles_after_migrate(sender, app_config=None, using="default", apps=None, **kwargs):
    """Keeps the role groups in step with the models that exist after every migrate."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from accounts.roles import roles_sync

    apps = apps or global_apps
    try:
        apps.get_model("auth", "Permission")
    except LookupError:
        return
    # Permissions of apps migrated after this one are not created yet at this point.
    for config in global_apps.get_app_configs():
        if config.models_module is not None:
            create_permissions(config, verbosity=0, using=using, apps=apps)
    roles_sync(apps=apps, using=using)


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Staff accounts and audit"

    def ready(self):
        # Audit receivers, OpenAPI auth descriptions and this app's runtime settings.
        from accounts import personal_data, runtime_settings, schema, signals  # noqa: F401

        personal_data.register()

        post_migrate.connect(_sync_roles_after_migrate, sender=self, dispatch_uid="accounts.roles_sync")


class OpsAdminConfig(admin_apps.AdminConfig):
    """Makes the MFA-guarded ops console the default ``admin.site``."""

    default = False
    default_site = "accounts.admin_site.OpsAdminSite"
