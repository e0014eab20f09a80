"""Saved addresses and the profile. Every function acts on the given user's own rows only."""

from django.db import transaction

from eshop.models import Address, User

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "region", "postal_code", "country")


class AddressError(ValueError):
    pass


def _clean(data: dict) -> dict:
    unknown = set(data) - set(ADDRESS_FIELDS)
    if unknown:
        raise AddressError(f"Unknown address fields: {', '.join(sorted(unknown))}.")
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


@transaction.atomic
def address_create(*, user: User, data: dict) -> Address:
    """Save a new address for `user`. `data` holds ADDRESS_FIELDS, already validated by a form or serializer."""
    address = Address(user=user, **_clean(data))
    address.full_clean(exclude=["user"])
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, data: dict) -> Address:
    cleaned = _clean(data)
    for key, value in cleaned.items():
        setattr(address, key, value)
    address.full_clean(exclude=["user"])
    address.save(update_fields=[*cleaned, "updated_at"])
    return address


def address_delete(*, address: Address) -> None:
    address.delete()


@transaction.atomic
def profile_update(*, user: User, first_name: str, last_name: str) -> User:
    """Change the customer's name. The e-mail (the login) is not changed here."""
    user.first_name, user.last_name = first_name.strip()[:150], last_name.strip()[:150]
    user.save(update_fields=["first_name", "last_name"])
    return user
