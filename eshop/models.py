from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from pgvector.django import HnswIndex, VectorField


class EmailUserManager(UserManager):
    """Users sign in with their e-mail address; there is no separate username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    @cached_property
    def is_support_agent(self) -> bool:
        """Agents are staff in the "Support agents" group; superusers may act as agents too."""
        return self.is_active and (
            self.is_superuser or (self.is_staff and self.groups.filter(name=settings.SUPPORT_AGENTS_GROUP).exists())
        )

    def __str__(self) -> str:
        return self.email


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    external_id = models.PositiveIntegerField(null=True, blank=True, unique=True, help_text="Id in the imported catalog.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


# Columns no page that shows products uses: the 384-float embedding (parsing it from text took about 4 ms of a
# 40 ms search page) and the full-text document. Lists of products leave them out (ProductQuerySet.for_display).
PRODUCT_UNSHOWN_FIELDS = ("embedding", "search_document")


class ProductQuerySet(models.QuerySet):
    def for_display(self) -> "ProductQuerySet":
        """Products to show, without the columns only search and embedding jobs read (PRODUCT_UNSHOWN_FIELDS)."""
        return self.defer(*PRODUCT_UNSHOWN_FIELDS)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=120)
    model = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField()
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))])
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    external_id = models.PositiveIntegerField(null=True, blank=True, unique=True, help_text="Id in the imported catalog.")
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True, editable=False)
    embedding_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The full-text document of product search (eshop.selectors.search), kept by PostgreSQL itself: brand and
    # model weigh above the description. Stored and GIN-indexed so a search does not build 200+ tsvectors.
    search_document = models.GeneratedField(
        expression=SearchVector("brand", weight="A", config="english") + SearchVector("model", weight="A", config="english")
        + SearchVector("description", weight="B", config="english"),
        output_field=SearchVectorField(), db_persist=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["brand", "model"]
        indexes = [
            HnswIndex(name="product_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64, opclasses=["vector_cosine_ops"]),
            GinIndex(name="product_search_document_gin", fields=["search_document"]),
        ]

    @property
    def name(self) -> str:
        return f"{self.brand} {self.model}"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def __str__(self) -> str:
        return self.name


class Country(models.TextChoices):
    US = "US", "United States"
    CA = "CA", "Canada"


class Address(models.Model):
    """A customer's saved shipping address (orders keep their own snapshot)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField("full name", max_length=150)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=120)
    region = models.CharField("state / province", max_length=120)
    postal_code = models.CharField("postal code", max_length=20)
    country = models.CharField(max_length=2, choices=Country.choices, default=Country.US)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city}"


class Cart(models.Model):
    """A signed-in customer's cart. Anonymous carts live in the session (ids and quantities only)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartItem(models.Model):
    # No price here on purpose: the price always comes from Product at the moment it is shown or ordered.
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cart_item_unique_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1) & models.Q(quantity__lte=99), name="cart_item_quantity_range"),
        ]


class ShippingMethod(models.TextChoices):
    STANDARD = "standard", "Standard (3-5 business days)"
    EXPRESS = "express", "Express (1-2 business days, US only)"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"


class Order(models.Model):
    # The public number (TH-123456) is random, so guessing it reveals nothing; URLs use it, never the id.
    number = models.CharField(max_length=9, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    shipping_method = models.CharField(max_length=12, choices=ShippingMethod.choices, default=ShippingMethod.STANDARD)
    tracking_number = models.CharField(max_length=64, blank=True)
    # Address snapshot: later edits of a saved address never change a placed order.
    ship_name = models.CharField("name", max_length=150)
    ship_line1 = models.CharField("address line 1", max_length=200)
    ship_line2 = models.CharField("address line 2", max_length=200, blank=True)
    ship_city = models.CharField("city", max_length=120)
    ship_region = models.CharField("state / province", max_length=120)
    ship_postal_code = models.CharField("postal code", max_length=20)
    ship_country = models.CharField("country", max_length=2, choices=Country.choices)
    subtotal = models.DecimalField(max_digits=10, decimal_places=2)
    shipping_cost = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    payment_brand = models.CharField(max_length=20, blank=True)
    payment_last4 = models.CharField(max_length=4, blank=True)
    demo_ref = models.CharField(max_length=20, null=True, blank=True, unique=True, editable=False,
                                help_text="Reference of a generated demo order (demo_orders.json).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines.all())


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    product_name = models.CharField(max_length=330)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["id"]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"


class OrderStatusEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=12, choices=OrderStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.status}"
