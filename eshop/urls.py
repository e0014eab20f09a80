from django.contrib.auth.views import LogoutView
from django.urls import path

from eshop import views, views_login

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.category_detail, name="category-detail"),
    path("p/<slug:slug>/", views.product_detail, name="product-detail"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("cart/remove/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/done/<str:number>/", views.order_confirmation, name="order-confirmation"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
    path("account/", views.profile, name="profile"),
    path("account/addresses/", views.address_list, name="address-list"),
    path("account/addresses/new/", views.address_new, name="address-new"),
    path("account/addresses/<int:pk>/edit/", views.address_edit, name="address-edit"),
    path("account/addresses/<int:pk>/delete/", views.address_remove, name="address-delete"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views_login.RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
]
