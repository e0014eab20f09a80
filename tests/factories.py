from decimal import Decimal

import factory
from django.conf import settings

from eshop.models import Address, Cart, CartItem, Category, Order, OrderLine, OrderStatus, OrderStatusEvent, Product, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Pat"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgentFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def agent_group(obj, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Group

            obj.groups.add(Group.objects.get_or_create(name=settings.SUPPORT_AGENTS_GROUP)[0])


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    brand = "Trailco"
    model = factory.Sequence(lambda n: f"Lamp {n}")
    slug = factory.Sequence(lambda n: f"trailco-lamp-{n}")
    description = "A bright headlamp."
    price = "49.99"
    stock = 10


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = "Pat Walker"
    line1 = "12 Pine St"
    city = "Boulder"
    region = "CO"
    postal_code = "80302"
    country = "US"


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    """An order as order_place would leave it (status placed), without touching stock."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"TH-{500000 + n}")
    user = factory.SubFactory(UserFactory)
    status = OrderStatus.PLACED
    ship_name = "Pat Walker"
    ship_line1 = "12 Pine St"
    ship_city = "Boulder"
    ship_region = "CO"
    ship_postal_code = "80302"
    ship_country = "US"
    subtotal = Decimal("49.99")
    shipping_cost = Decimal("6.95")
    total = Decimal("56.94")
    payment_brand = "Visa"
    payment_last4 = "4242"

    @factory.post_generation
    def with_line(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            product = ProductFactory()
            OrderLine.objects.create(order=obj, product=product, product_name=product.name, unit_price=product.price, quantity=1)
            OrderStatusEvent.objects.create(order=obj, status=obj.status)
