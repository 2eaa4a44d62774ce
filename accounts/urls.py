from django.urls import path
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import api

router = SimpleRouter(trailing_slash="/?")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("me", api.MeView.as_view(), name="me"),
    path("auth/token/", TokenObtainPairView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    *router.urls,
]
