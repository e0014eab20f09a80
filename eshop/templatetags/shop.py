from django import template

from eshop.selectors.cart import cart_item_count

register = template.Library()


@register.simple_tag(takes_context=True)
def cart_count(context) -> int:
    """Items in the current visitor's cart, for the "Cart (n)" link in the header."""
    request = context.get("request")
    if request is None:
        return 0
    return cart_item_count(user=getattr(request, "user", None), session=getattr(request, "session", None))


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """The current URL's query string with `page` replaced (keeps filters when paginating)."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
