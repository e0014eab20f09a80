from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from eshop.models import Product


class ProductOutputSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    in_stock = serializers.BooleanField()

    class Meta:
        model = Product
        fields = ["slug", "brand", "model", "description", "price", "stock", "in_stock", "category"]


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
