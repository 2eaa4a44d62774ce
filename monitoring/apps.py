from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        # Connects the Celery metrics to Celery's signals.
        from monitoring import celery_metrics  # noqa: F401
