from django.urls import path

from eshop import apis

urlpatterns = [
    path("products/", apis.ProductListApi.as_view(), name="api-product-list"),
    path("products/search/", apis.ProductSearchApi.as_view(), name="api-product-search"),
    path("products/create/", apis.ProductCreateApi.as_view(), name="api-product-create"),
    path("products/<slug:slug>/", apis.ProductDetailApi.as_view(), name="api-product-detail"),
    path("products/<slug:slug>/update/", apis.ProductUpdateApi.as_view(), name="api-product-update"),
    path("categories/create/", apis.CategoryCreateApi.as_view(), name="api-category-create"),
    path("categories/<slug:slug>/update/", apis.CategoryUpdateApi.as_view(), name="api-category-update"),
    path("cart/", apis.CartApi.as_view(), name="api-cart"),
    path("cart/items/", apis.CartItemAddApi.as_view(), name="api-cart-item-add"),
    path("cart/items/<int:product_id>/", apis.CartItemUpdateApi.as_view(), name="api-cart-item-update"),
    path("cart/items/<int:product_id>/remove/", apis.CartItemRemoveApi.as_view(), name="api-cart-item-remove"),
    path("checkout/", apis.CheckoutApi.as_view(), name="api-checkout"),
    path("orders/", apis.OrderListApi.as_view(), name="api-order-list"),
    path("orders/<str:number>/", apis.OrderDetailApi.as_view(), name="api-order-detail"),
]
