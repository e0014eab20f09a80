import re

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from eshop.models import Address, Category, Country, ShippingMethod, User


class SignUpForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists. Sign in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords do not match.")
        if p1:
            candidate = User(email=cleaned.get("email", ""), first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", ""))
            try:
                password_validation.validate_password(p1, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="E-mail address", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = ["full_name", "line1", "line2", "city", "region", "postal_code", "country"]
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "region": forms.TextInput(attrs={"autocomplete": "address-level1"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "country": forms.Select(attrs={"autocomplete": "country"}),
        }


class CardNumberInput(forms.TextInput):
    """Never sends a card number back to the browser, even when the form is shown again with errors."""

    def format_value(self, value):
        return None


class CheckoutForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    line1 = forms.CharField(label="Address line 1", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"}))
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False, widget=forms.TextInput(attrs={"autocomplete": "address-line2"}))
    city = forms.CharField(label="City", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    region = forms.CharField(label="State / province", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "address-level1"}))
    postal_code = forms.CharField(label="Postal code", max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"}))
    country = forms.ChoiceField(label="Country", choices=Country.choices, widget=forms.Select(attrs={"autocomplete": "country"}))
    save_address = forms.BooleanField(label="Save this address to my account", required=False)
    shipping_method = forms.ChoiceField(label="Shipping method", choices=ShippingMethod.choices, widget=forms.RadioSelect,
                                        initial=ShippingMethod.STANDARD)
    card_number = forms.CharField(label="Card number", max_length=23, widget=CardNumberInput(
        attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    expiry = forms.CharField(label="Expiry (MM/YY)", max_length=7, widget=forms.TextInput(
        attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY", "inputmode": "numeric"}))
    cvc = forms.CharField(label="Security code (CVC)", max_length=4, widget=CardNumberInput(
        attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))

    ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "region", "postal_code", "country")

    def clean_expiry(self):
        value = self.cleaned_data["expiry"].replace(" ", "")
        match = re.fullmatch(r"(\d{1,2})/(\d{2}|\d{4})", value)
        if not match:
            raise forms.ValidationError("Enter the expiry date as MM/YY.")
        month, year = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise forms.ValidationError("Enter the expiry date as MM/YY.")
        return (month, year + 2000 if year < 100 else year)

    def address_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.ADDRESS_FIELDS}


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label="Last name", max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))


class DirectOptionsSelect(forms.Select):
    """A <select> whose options are written here rather than through one template each."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = "".join(
            f'<option value="{escape(option["value"])}"{" selected" if option["selected"] else ""}>{escape(option["label"])}</option>'
            for _, group, _ in widget["optgroups"] for option in group)
        return format_html("<select name=\"{}\"{}>{}</select>", widget["name"], flatatt(widget["attrs"]), mark_safe(options))


def category_choices() -> list[tuple[str, str]]:
    return [("", "All categories"), *Category.objects.values_list("slug", "name")]


class SearchForm(forms.Form):
    """The search page's query and filters; every field is optional (an empty query shows the form)."""

    q = forms.CharField(label="Search products", max_length=200, required=False, strip=True,
                        widget=forms.SearchInput(attrs={"placeholder": "Headlamp, water filter, something to keep drinks cold…"}))
    # Slugs and names only (category_choices, read in __init__), written without a template per option: as a
    # ModelChoiceField through Django's option templates the 67 categories took about 10 ms, a quarter of a search
    # page (in-process, idle machine).
    category = forms.ChoiceField(label="Category", required=False, widget=DirectOptionsSelect,
                                 error_messages={"invalid_choice": "There is no such category."})
    min_price = forms.DecimalField(label="Min price ($)", min_value=0, max_digits=10, decimal_places=2, required=False,
                                   error_messages={"invalid": "Enter the minimum price as a number, e.g. 20 or 19.99.",
                                                   "min_value": "The minimum price cannot be negative."})
    max_price = forms.DecimalField(label="Max price ($)", min_value=0, max_digits=10, decimal_places=2, required=False,
                                   error_messages={"invalid": "Enter the maximum price as a number, e.g. 100 or 99.99.",
                                                   "min_value": "The maximum price cannot be negative."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read once per form: as a callable choice list they were read for validation and again for rendering.
        self.fields["category"].choices = category_choices()

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "The maximum price must not be below the minimum price.")
        return cleaned
