from django.urls import path

from analytics import api

urlpatterns = [
    path("analytics/campaigns/<str:campaign_id>", api.CampaignAnalyticsView.as_view(), name="analytics-campaign"),
    path("analytics/templates/<str:template_id>", api.TemplateAnalyticsView.as_view(), name="analytics-template"),
    path("analytics/users/<str:line_user_id>", api.UserAnalyticsView.as_view(), name="analytics-user"),
    path("analytics/events", api.EventListView.as_view(), name="analytics-events"),
]
