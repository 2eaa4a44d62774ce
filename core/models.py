"""The core app's models: the runtime settings' store (defined in :mod:`core.config.models`)."""

from core.config.models import AppendOnlyError, RuntimeSetting, RuntimeSettingVersion

__all__ = ["AppendOnlyError", "RuntimeSetting", "RuntimeSettingVersion"]
