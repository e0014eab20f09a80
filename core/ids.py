"""Ids from URLs, forms and query strings, parsed strictly: ASCII digits only, bounded length.

`str.isdigit()` is true for '²' and '١', and int() then raises or reads a number nobody typed;
a 30-digit id overflows the database's bigint. Every id from outside goes through parse_id, and
an id that does not parse is "no such thing" (404) or a 400, never a 500.
"""

import re

MAX_ID_DIGITS = 18  # below 2**63, the bigint limit
_ID = re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}")


def parse_id(value) -> int | None:
    """The id in `value` (an int or a string of ASCII digits), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**MAX_ID_DIGITS else None
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None
