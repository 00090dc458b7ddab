from django.urls import path

from outtake.accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("rates/", views.rate_card, name="rate-card"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/<int:token_id>/revoke/", views.revoke_token, name="token-revoke"),
]
