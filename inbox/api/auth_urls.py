"""Routes of the agent auth endpoints under /api/v1/."""

from django.urls import path

from inbox.api import auth_views

urlpatterns = [
    path("auth/login", auth_views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", auth_views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", auth_views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", auth_views.MeView.as_view(), name="auth-me"),
]
