from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import model_permissions
from eshop.models import Category, Country, Product, ShippingMethod
from eshop.selectors.addresses import address_get_for_user
from eshop.selectors.cart import cart_get
from eshop.selectors.orders import order_get_for_user, order_list_for_user
from eshop.selectors.search import SEARCH_QUERY_MAX_LENGTH, product_search_ranked
from eshop.services.cart import MAX_QUANTITY, CartError, ProductUnavailable, cart_item_add, cart_item_remove, cart_item_update
from eshop.services.catalog import CatalogError, category_create, category_update, product_create, product_update
from eshop.services.orders import OrderError, OutOfStockError, ShippingAddress, order_place
from eshop.services.payments import CardDetails, PaymentDeclined, PaymentError


class ProductOutputSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    in_stock = serializers.BooleanField()

    class Meta:
        model = Product
        fields = ["id", "slug", "brand", "model", "description", "price", "stock", "in_stock", "category"]


class ProductListApi(generics.ListAPIView):
    """Active products, paginated."""

    permission_classes = [AllowAny]
    serializer_class = ProductOutputSerializer
    queryset = Product.objects.filter(is_active=True).select_related("category").order_by("id")


class ProductDetailApi(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductOutputSerializer
    lookup_field = "slug"
    queryset = Product.objects.filter(is_active=True).select_related("category")


class ProductSearchApi(generics.ListAPIView):
    """Product search (meaning and words, weighted by how the query reads), best first, paginated:
    the results above the relevance floor, or every match with all=true ("show more")."""

    permission_classes = [AllowAny]
    serializer_class = ProductOutputSerializer

    class ProductSearchInputSerializer(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=SEARCH_QUERY_MAX_LENGTH, help_text="What to look for, in plain words.")
        category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False,
                                                help_text="Only this category (slug).")
        min_price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.00"), required=False)
        max_price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.00"), required=False)
        all = serializers.BooleanField(default=False, help_text="Also the weaker matches below the relevance floor.")

        def validate(self, attrs):
            low, high = attrs.get("min_price"), attrs.get("max_price")
            if low is not None and high is not None and low > high:
                raise serializers.ValidationError({"max_price": "Must not be below min_price."})
            return attrs

    @extend_schema(parameters=[ProductSearchInputSerializer], responses={200: ProductOutputSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        data = self.ProductSearchInputSerializer(data=self.request.query_params)
        data.is_valid(raise_exception=True)  # a 400 with the field errors
        values = data.validated_data
        category = values.get("category")
        results = product_search_ranked(query=values["q"], category_slug=category.slug if category else None,
                                        min_price=values.get("min_price"), max_price=values.get("max_price"))
        return results.products if values["all"] else results.relevant


# --- helpers ----------------------------------------------------------------------------------

class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _error(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": message}, status=code)


# --- cart -------------------------------------------------------------------------------------

class CartLineOutputSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(source="product.pk")
    slug = serializers.CharField(source="product.slug")
    name = serializers.CharField(source="product.name")
    unit_price = serializers.DecimalField(source="product.price", max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartOutputSerializer(serializers.Serializer):
    lines = CartLineOutputSerializer(many=True)
    item_count = serializers.IntegerField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    standard_shipping = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="Standard US shipping for this subtotal.")
    estimated_total = serializers.DecimalField(max_digits=12, decimal_places=2)


def _cart_response(request, code=status.HTTP_200_OK) -> Response:
    return Response(CartOutputSerializer(cart_get(user=request.user, session=None)).data, status=code)


class CartApi(APIView):
    """The signed-in customer's cart, priced from the catalog now."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=CartOutputSerializer)
    def get(self, request):
        return _cart_response(request)


class CartItemAddApi(APIView):
    """Add a quantity of a product to the cart (adds to what is there). Prices are never accepted."""

    permission_classes = [IsAuthenticated]

    class CartItemAddInputSerializer(serializers.Serializer):
        product_id = serializers.IntegerField()
        quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)

    @extend_schema(request=CartItemAddInputSerializer, responses={201: CartOutputSerializer, 400: DetailSerializer, 404: DetailSerializer})
    def post(self, request):
        data = self.CartItemAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cart_item_add(user=request.user, session=None, **data.validated_data)
        except ProductUnavailable as exc:
            return _error(str(exc), status.HTTP_404_NOT_FOUND)
        except CartError as exc:
            return _error(str(exc))
        return _cart_response(request, status.HTTP_201_CREATED)


class CartItemUpdateApi(APIView):
    """Set the quantity of a product already in the cart."""

    permission_classes = [IsAuthenticated]

    class CartItemUpdateInputSerializer(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)

    @extend_schema(request=CartItemUpdateInputSerializer, responses={200: CartOutputSerializer, 400: DetailSerializer, 404: DetailSerializer})
    def patch(self, request, product_id: int):
        data = self.CartItemUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cart_item_update(user=request.user, session=None, product_id=product_id, quantity=data.validated_data["quantity"])
        except ProductUnavailable as exc:
            return _error(str(exc), status.HTTP_404_NOT_FOUND)
        except CartError as exc:
            return _error(str(exc))
        return _cart_response(request)


class CartItemRemoveApi(APIView):
    """Remove a product from the cart."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: CartOutputSerializer, 404: DetailSerializer})
    def delete(self, request, product_id: int):
        try:
            cart_item_remove(user=request.user, session=None, product_id=product_id)
        except ProductUnavailable as exc:
            return _error(str(exc), status.HTTP_404_NOT_FOUND)
        return _cart_response(request)


# --- orders -----------------------------------------------------------------------------------

class AddressSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=120)
    region = serializers.CharField(max_length=120)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.ChoiceField(choices=Country.choices)


class OrderLineOutputSerializer(serializers.Serializer):
    product_slug = serializers.CharField(source="product.slug")
    product_name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderEventOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    at = serializers.DateTimeField()
    note = serializers.CharField()


class OrderShippingAddressSerializer(serializers.Serializer):
    full_name = serializers.CharField(source="ship_name")
    line1 = serializers.CharField(source="ship_line1")
    line2 = serializers.CharField(source="ship_line2")
    city = serializers.CharField(source="ship_city")
    region = serializers.CharField(source="ship_region")
    postal_code = serializers.CharField(source="ship_postal_code")
    country = serializers.CharField(source="ship_country")


class OrderListOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    tracking_number = serializers.CharField()


class OrderDetailOutputSerializer(OrderListOutputSerializer):
    shipping_method = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_cost = serializers.DecimalField(max_digits=10, decimal_places=2)
    payment_brand = serializers.CharField()
    payment_last4 = serializers.CharField()
    shipping_address = OrderShippingAddressSerializer(source="*")
    lines = OrderLineOutputSerializer(many=True)
    events = OrderEventOutputSerializer(many=True)


class CheckoutApi(APIView):
    """Place an order from the cart: shipping address (or a saved address id), method and card.

    The card number is validated (Luhn, expiry, CVC) and never stored; 4000 0000 0000 0002 is declined.
    """

    permission_classes = [IsAuthenticated]

    class CheckoutInputSerializer(serializers.Serializer):
        class CheckoutPaymentInputSerializer(serializers.Serializer):
            card_number = serializers.CharField(max_length=23, write_only=True)
            expiry_month = serializers.IntegerField(min_value=1, max_value=12)
            expiry_year = serializers.IntegerField(min_value=2000, max_value=2100)
            cvc = serializers.CharField(max_length=4, write_only=True)

        address = AddressSerializer(required=False)
        address_id = serializers.IntegerField(required=False, help_text="One of your saved addresses, instead of `address`.")
        shipping_method = serializers.ChoiceField(choices=ShippingMethod.choices)
        payment = CheckoutPaymentInputSerializer()

        def validate(self, attrs):
            if ("address" in attrs) == ("address_id" in attrs):
                raise serializers.ValidationError("Give either an address or an address_id.")
            return attrs

    @extend_schema(request=CheckoutInputSerializer, responses={201: OrderDetailOutputSerializer, 400: DetailSerializer, 402: DetailSerializer, 409: DetailSerializer})
    def post(self, request):
        data = self.CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "address_id" in values:
            saved = address_get_for_user(user=request.user, address_id=values["address_id"])
            if saved is None:
                return _error("No such saved address.", status.HTTP_404_NOT_FOUND)
            address = ShippingAddress.from_address(saved)
        else:
            address = ShippingAddress(**values["address"])
        payment = values["payment"]
        try:
            order = order_place(user=request.user, address=address, shipping_method=values["shipping_method"], payment=CardDetails(
                number=payment["card_number"], expiry_month=payment["expiry_month"], expiry_year=payment["expiry_year"], cvc=payment["cvc"]))
        except PaymentDeclined as exc:
            return _error(str(exc), status.HTTP_402_PAYMENT_REQUIRED)
        except OutOfStockError as exc:
            return _error(str(exc), status.HTTP_409_CONFLICT)
        except (PaymentError, OrderError) as exc:
            return _error(str(exc))
        order = order_get_for_user(user=request.user, number=order.number)
        return Response(OrderDetailOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderListApi(generics.ListAPIView):
    """Your own orders, newest first, paginated."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderListOutputSerializer

    def get_queryset(self):
        return order_list_for_user(user=self.request.user)


class OrderDetailApi(APIView):
    """One of your own orders by its public number (another customer's number is 404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrderDetailOutputSerializer, 404: DetailSerializer})
    def get(self, request, number: str):
        order = order_get_for_user(user=request.user, number=number)
        if order is None:
            raise NotFound("No such order.")
        return Response(OrderDetailOutputSerializer(order).data)


# --- catalog writes: model permissions (staff alone is not enough: agents are staff) ---------------

class CategoryOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class CategoryCreateApi(APIView):
    permission_classes = [model_permissions("eshop.add_category")]

    class CategoryCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=140, required=False, default="")

    @extend_schema(request=CategoryCreateInputSerializer, responses={201: CategoryOutputSerializer, 400: DetailSerializer})
    def post(self, request):
        data = self.CategoryCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            category = category_create(**data.validated_data)
        except CatalogError as exc:
            return _error(str(exc))
        return Response(CategoryOutputSerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryUpdateApi(APIView):
    permission_classes = [model_permissions("eshop.change_category")]

    class CategoryUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        slug = serializers.SlugField(max_length=140, required=False)

    @extend_schema(request=CategoryUpdateInputSerializer, responses={200: CategoryOutputSerializer, 400: DetailSerializer})
    def patch(self, request, slug: str):
        category = get_object_or_404(Category, slug=slug)
        data = self.CategoryUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            category = category_update(category=category, data=data.validated_data)
        except CatalogError as exc:
            return _error(str(exc))
        return Response(CategoryOutputSerializer(category).data)


class ProductWriteInputSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())
    brand = serializers.CharField(max_length=120)
    model = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=220, required=False)
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.00"))
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    is_active = serializers.BooleanField(required=False)


class ProductCreateApi(APIView):
    """Catalog managers (eshop.add_product; superusers): add a product (a shop syncing its catalog)."""

    permission_classes = [model_permissions("eshop.add_product")]

    @extend_schema(request=ProductWriteInputSerializer, responses={201: ProductOutputSerializer, 400: DetailSerializer})
    def post(self, request):
        data = ProductWriteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            product = product_create(**data.validated_data)
        except CatalogError as exc:
            return _error(str(exc))
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductUpdateApi(APIView):
    """Catalog managers (eshop.change_product; superusers): change some fields of a product."""

    permission_classes = [model_permissions("eshop.change_product")]

    @extend_schema(request=ProductWriteInputSerializer(partial=True), responses={200: ProductOutputSerializer, 400: DetailSerializer})
    def patch(self, request, slug: str):
        product = get_object_or_404(Product, slug=slug)
        data = ProductWriteInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            product = product_update(product=product, data=data.validated_data)
        except CatalogError as exc:
            return _error(str(exc))
        return Response(ProductOutputSerializer(product).data)
