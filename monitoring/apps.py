from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        from monitoring import multiprocess

        if settings.PROMETHEUS_MULTIPROC_DIR and not multiprocess.is_enabled():
            raise ImproperlyConfigured(
                "PROMETHEUS_MULTIPROC_DIR is set but metrics are not in multiprocess mode: prometheus_client "
                "was imported before the settings called monitoring.multiprocess.enable()."
            )
        # Celery metrics, error capture, runtime settings, the built-in dashboard panels, and the
        # receivers that end dashboard sockets when a session ends or a role changes.
        # The SLO module registers the campaign indicator's series, webhook_backlog the waiting events'.
        from monitoring import (  # noqa: F401
            celery_metrics,
            error_capture,
            line_quota,
            personal_data,
            runtime_settings,
            signals,
            slo,
            webhook_backlog,
        )

        personal_data.register()
        from monitoring.dashboards import panels  # noqa: F401
