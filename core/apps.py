from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core infrastructure"

    def ready(self):
        from django.db.models.signals import post_migrate

        from core import checks, correlation, slow_queries  # noqa: F401 - registers checks and Celery signals
        from core.memory import get_memory_monitor
        from core.redis import get_redis

        post_migrate.connect(_sync_runtime_settings, sender=self)
        slow_queries.enable()

        # Under memory pressure the Redis fallback gives back half of its entries.
        get_memory_monitor().subscribe(lambda level, percent: get_redis().prune_fallback(0.5))


def _sync_runtime_settings(sender, using="default", **kwargs):
    from core.config.services import settings_sync

    settings_sync(using=using)
