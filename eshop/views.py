from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from eshop.forms import AddressForm, CheckoutForm, ProfileForm, SearchForm, SignUpForm
from eshop.models import Category
from eshop.selectors.addresses import address_default_for_user, address_get_for_user, address_list_for_user
from eshop.selectors.cart import cart_get
from eshop.selectors.catalog import (
    category_list_with_counts,
    product_get_active,
    product_list_featured,
    product_list_for_category,
    product_list_popular,
    product_list_related,
)
from eshop.selectors.orders import order_get_for_user, order_page_for_user
from eshop.selectors.search import product_search_page
from eshop.services.accounts import customer_create
from eshop.services.addresses import address_create, address_delete, address_update, profile_update
from eshop.services.cart import CartError, ProductUnavailable, cart_item_add, cart_item_remove, cart_item_update
from eshop.services.orders import EmptyCartError, OrderError, ShippingAddress, order_place
from eshop.services.payments import CardDetails, PaymentError


def home(request):
    return render(request, "eshop/home.html", {
        "featured_products": product_list_featured(limit=8),
        "categories": category_list_with_counts(),
    })


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = customer_create(email=data["email"], password=data["password1"], first_name=data["first_name"], last_name=data["last_name"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your account is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


# --- catalog ----------------------------------------------------------------------------------

def category_detail(request, slug):
    category = get_object_or_404(Category, slug=slug)
    page = product_list_for_category(category=category, page=request.GET.get("page"))
    return render(request, "eshop/category_detail.html", {"category": category, "page": page, "products": page.object_list})


def product_detail(request, slug):
    product = product_get_active(slug=slug)
    if product is None:
        raise Http404("No such product.")
    return render(request, "eshop/product_detail.html", {
        "product": product,
        "related_products": product_list_related(product=product, limit=4),
        "max_quantity": min(product.stock, 99),
    })


@require_http_methods(["GET", "HEAD"])
def search(request):
    """Product search with category and price filters: the results above the relevance floor, and a
    "show more" link to the weaker ones; bad filters are shown on the form (400)."""
    form = SearchForm(request.GET or None)
    show_all = request.GET.get("all") == "1"  # "show more": the weaker matches below the relevance floor too
    context = {"form": form, "query": "", "page": None, "products": [], "show_all": show_all, "more_count": 0}
    if form.is_bound and form.is_valid() and form.cleaned_data["q"]:
        data = form.cleaned_data
        page, results = product_search_page(page=request.GET.get("page"), show_all=show_all, query=data["q"],
                                            category_slug=data["category"] or None,
                                            min_price=data["min_price"], max_price=data["max_price"])
        context.update(query=data["q"], page=page, products=page.object_list,
                       more_count=0 if show_all else len(results.products) - results.shown)
    if not context["products"]:
        context.update(suggested_categories=category_list_with_counts().order_by("-product_count", "name")[:8],
                       popular_products=product_list_popular(limit=4))
    return render(request, "eshop/search.html", context, status=400 if form.errors else 200)


# --- cart -------------------------------------------------------------------------------------

def _back(request, fallback: str):
    """Where to go after a cart change: the page the form came from, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def cart_detail(request):
    return render(request, "eshop/cart.html", {"cart": cart_get(user=request.user, session=request.session)})


@require_POST
def cart_add(request):
    try:
        quantity = cart_item_add(user=request.user, session=request.session,
                                 product_id=request.POST.get("product_id"), quantity=request.POST.get("quantity", "1"))
    except ProductUnavailable:
        raise Http404("This product is not available.") from None
    except CartError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("cart"))
    messages.success(request, f"Added to your cart (now {quantity}).")
    return redirect("cart")


@require_POST
def cart_update(request):
    try:
        cart_item_update(user=request.user, session=request.session,
                         product_id=request.POST.get("product_id"), quantity=request.POST.get("quantity"))
    except ProductUnavailable:
        raise Http404("This product is not available.") from None
    except CartError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Cart updated.")
    return redirect("cart")


@require_POST
def cart_remove(request):
    try:
        cart_item_remove(user=request.user, session=request.session, product_id=request.POST.get("product_id"))
    except ProductUnavailable:
        raise Http404("This product is not available.") from None
    messages.success(request, "Removed from your cart.")
    return redirect("cart")


# --- checkout and orders ----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = cart_get(user=request.user, session=request.session)
    if cart.is_empty:
        messages.error(request, "Your cart is empty. Add something before checking out.")
        return redirect("cart")
    saved = address_default_for_user(user=request.user)
    initial = {"full_name": request.user.get_full_name()}
    if saved is not None:
        initial = {name: getattr(saved, name) for name in CheckoutForm.ADDRESS_FIELDS}
    form = CheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        month, year = data["expiry"]
        try:
            order = order_place(
                user=request.user,
                address=ShippingAddress(**form.address_data()),
                shipping_method=data["shipping_method"],
                payment=CardDetails(number=data["card_number"], expiry_month=month, expiry_year=year, cvc=data["cvc"]),
            )
        except PaymentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except EmptyCartError as exc:
            messages.error(request, str(exc))
            return redirect("cart")
        except OrderError as exc:
            form.add_error(None, str(exc))
        else:
            if data["save_address"]:
                address_create(user=request.user, data=form.address_data())
            return redirect("order-confirmation", number=order.number)
    return render(request, "eshop/checkout.html", {"form": form, "cart": cart}, status=400 if form.errors else 200)


@login_required
def order_confirmation(request, number):
    return render(request, "eshop/order_confirmation.html", {"order": _own_order_or_404(request, number)})


@login_required
def order_list(request):
    page = order_page_for_user(user=request.user, page=request.GET.get("page"))
    return render(request, "eshop/order_list.html", {"page": page, "orders": page.object_list})


@login_required
def order_detail(request, number):
    return render(request, "eshop/order_detail.html", {"order": _own_order_or_404(request, number)})


def _own_order_or_404(request, number):
    """The signed-in customer's order with this number; anyone else's is a 404, never a 403."""
    order = order_get_for_user(user=request.user, number=number)
    if order is None:
        raise Http404("No such order.")
    return order


# --- profile and addresses --------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, initial={"first_name": request.user.first_name, "last_name": request.user.last_name})
    if request.method == "POST" and form.is_valid():
        profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "eshop/profile.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def address_list(request):
    return render(request, "eshop/address_list.html", {"addresses": address_list_for_user(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def address_new(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address_create(user=request.user, data=form.cleaned_data)
        messages.success(request, "Address saved.")
        return redirect("address-list")
    return render(request, "eshop/address_form.html", {"form": form, "title": "Add an address"}, status=400 if form.errors else 200)


def _own_address(request, pk):
    address = address_get_for_user(user=request.user, address_id=pk)
    if address is None:
        raise Http404("No such address.")
    return address


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk):
    address = _own_address(request, pk)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        address_update(address=address, data={name: form.cleaned_data[name] for name in form.Meta.fields})
        messages.success(request, "Address saved.")
        return redirect("address-list")
    return render(request, "eshop/address_form.html", {"form": form, "title": "Edit address"}, status=400 if form.errors else 200)


@login_required
@require_POST
def address_remove(request, pk):
    address_delete(address=_own_address(request, pk))
    messages.success(request, "Address deleted.")
    return redirect("address-list")
