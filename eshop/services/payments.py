"""The simulated payment step: validates a card like a gateway would, without any external call.

The card number is never stored or logged: only its brand and last four digits leave this module.
"""

import re
from dataclasses import dataclass

from django.utils import timezone

# The usual gateway test number for "card declined".
DECLINED_TEST_CARD = "4000000000000002"


class PaymentError(ValueError):
    """The card details are invalid or the card was declined; the message is safe to show."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class PaymentDeclined(PaymentError):
    pass


@dataclass(frozen=True)
class CardDetails:
    number: str
    expiry_month: int
    expiry_year: int
    cvc: str

    def __repr__(self) -> str:  # never print a card number in a traceback or log
        return f"CardDetails(number='…{self.digits[-4:]}', expiry={self.expiry_month:02d}/{self.expiry_year})"

    @property
    def digits(self) -> str:
        return re.sub(r"[\s-]", "", self.number or "")


@dataclass(frozen=True)
class PaymentAuthorization:
    brand: str
    last4: str


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    if digits.startswith(("34", "37")):
        return "American Express"
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(digits[:4] or 0) <= 2720:
        return "Mastercard"
    return "Card"


def card_validate(*, card: CardDetails) -> PaymentAuthorization:
    """Check number (13-19 digits, Luhn), expiry (this month or later) and CVC (3-4 digits).

    Raises PaymentError (with the form field at fault) on bad input. Declines are not checked here.
    """
    digits = card.digits
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        raise PaymentError("Enter a card number of 13 to 19 digits.", field="card_number")
    if not luhn_valid(digits):
        raise PaymentError("This card number is not valid. Please check it.", field="card_number")
    month, year = card.expiry_month, card.expiry_year
    if not isinstance(month, int) or not isinstance(year, int) or not 1 <= month <= 12:
        raise PaymentError("Enter the expiry month and year.", field="expiry")
    if year < 100:
        year += 2000
    today = timezone.localdate()
    if (year, month) < (today.year, today.month):
        raise PaymentError("This card has expired.", field="expiry")
    if year > today.year + 20:
        raise PaymentError("Enter a valid expiry year.", field="expiry")
    cvc = (card.cvc or "").strip()
    if not cvc.isdigit() or not 3 <= len(cvc) <= 4:
        raise PaymentError("The security code (CVC) is 3 or 4 digits.", field="cvc")
    return PaymentAuthorization(brand=card_brand(digits), last4=digits[-4:])


def payment_authorize(*, card: CardDetails) -> PaymentAuthorization:
    """Validate the card and "authorize" the payment; PaymentDeclined for the test decline number."""
    authorization = card_validate(card=card)
    if card.digits == DECLINED_TEST_CARD:
        raise PaymentDeclined("Your card was declined. Please use another card.", field="card_number")
    return authorization
