"""Shipping prices, as published in the shop facts (support/demo_data/STORE_FACTS.md).

Pure functions (no database), shared by the cart page, checkout, the API and the demo orders.
"""

from decimal import Decimal

from eshop.models import Country, ShippingMethod

STANDARD_US = Decimal("6.95")
EXPRESS_US = Decimal("14.95")
CANADA = Decimal("19.95")
FREE_STANDARD_OVER = Decimal("75.00")


class ShippingError(ValueError):
    pass


def shipping_cost(*, subtotal: Decimal, method: str, country: str = Country.US) -> Decimal:
    """Cost of shipping an order of `subtotal` by `method` to `country`; ShippingError if not offered."""
    if method not in ShippingMethod.values:
        raise ShippingError("Choose a shipping method.")
    if country not in Country.values:
        raise ShippingError("We ship to the United States and Canada only.")
    if country == Country.CA:
        if method == ShippingMethod.EXPRESS:
            raise ShippingError("Express shipping is available in the United States only.")
        return CANADA
    if method == ShippingMethod.EXPRESS:
        return EXPRESS_US
    return Decimal("0.00") if subtotal > FREE_STANDARD_OVER else STANDARD_US
