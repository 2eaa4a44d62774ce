from rest_framework.routers import SimpleRouter

from richmessages import api, message_api
from richmessages.campaigns import api as campaigns_api


class OptionalSlashRouter(SimpleRouter):
    """Answers ``/rich-templates/1`` and ``/rich-templates/1/`` alike (no redirect for a POST to lose its body)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("rich-templates", api.RichTemplateViewSet, basename="rich-template")
router.register("campaigns", campaigns_api.CampaignViewSet, basename="campaign")
router.register("rich-messages", message_api.RichMessageViewSet, basename="rich-message")

urlpatterns = router.urls
