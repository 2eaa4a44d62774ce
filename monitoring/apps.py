from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        # Connects the Celery metrics and the error capture to Celery's and Django's signals.
        from monitoring import celery_metrics, error_capture  # noqa: F401
