from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from eshop.models import Address, Cart, Category, Order, OrderLine, OrderStatus, OrderStatusEvent, Product, User
from eshop.services.embeddings import EMBEDDING_SOURCE_FIELDS, product_embedding_schedule
from eshop.services.orders import ALLOWED_TRANSITIONS, OrderError, order_status_change


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_superuser", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "external_id"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:  # the category name is part of its products' embeddings
            product_embedding_schedule(product_ids=obj.products.values_list("pk", flat=True))


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "is_active", "updated_at"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["brand", "model", "description"]
    prepopulated_fields = {"slug": ("brand", "model")}
    readonly_fields = ["embedding_hash"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The embed queue (re)computes the vector after commit; the task is a no-op if the text is unchanged.
        if not change or EMBEDDING_SOURCE_FIELDS.intersection(form.changed_data):
            product_embedding_schedule(product_ids=[obj.pk])


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product", "product_name", "unit_price", "quantity"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class OrderStatusEventInline(admin.TabularInline):
    model = OrderStatusEvent
    extra = 0
    can_delete = False
    fields = ["status", "at", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class OrderAdminForm(forms.ModelForm):
    """Status is changed only through order_status_change (it records the timeline event)."""

    new_status = forms.ChoiceField(label="Change status to", required=False, choices=[("", "(keep)"), *OrderStatus.choices])
    status_note = forms.CharField(label="Note for the timeline", required=False, max_length=300)

    class Meta:
        model = Order
        fields = ["tracking_number"]

    def clean(self):
        cleaned = super().clean()
        new_status = cleaned.get("new_status")
        if new_status and self.instance.pk and new_status not in ALLOWED_TRANSITIONS[self.instance.status]:
            self.add_error("new_status", f"An order that is {self.instance.get_status_display().lower()} cannot become {OrderStatus(new_status).label.lower()}.")
        return cleaned


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = ["number", "user", "ship_name", "status", "item_count", "total", "shipping_method", "ship_country",
                    "created_at"]  # support/admin/orders.py adds the ticket count
    list_filter = ["status", "shipping_method", "ship_country", "payment_brand", "created_at"]
    list_select_related = ["user"]
    search_fields = ["number", "user__email", "ship_name", "ship_postal_code", "tracking_number", "lines__product_name"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [OrderLineInline, OrderStatusEventInline]
    readonly_fields = ["number", "user", "status", "created_at", "updated_at", "shipping_method", "ship_name", "ship_line1", "ship_line2",
                       "ship_city", "ship_region", "ship_postal_code", "ship_country", "subtotal", "shipping_cost", "total",
                       "payment_brand", "payment_last4", "demo_ref"]
    fieldsets = (
        (None, {"fields": ("number", "user", "status", ("new_status", "status_note"), "tracking_number", "created_at", "updated_at")}),
        ("Shipping", {"fields": ("shipping_method", "ship_name", "ship_line1", "ship_line2", "ship_city", "ship_region",
                                 "ship_postal_code", "ship_country")}),
        ("Totals and payment", {"fields": ("subtotal", "shipping_cost", "total", "payment_brand", "payment_last4", "demo_ref")}),
    )
    actions = ["mark_paid", "mark_shipped", "mark_delivered", "mark_cancelled"]

    def has_add_permission(self, request):
        return False  # orders come from checkout

    def get_queryset(self, request):
        # Counts as subqueries: one query for the whole page, and no row multiplication from joins.
        lines = OrderLine.objects.filter(order=OuterRef("pk")).values("order").annotate(n=Sum("quantity")).values("n")
        return super().get_queryset(request).annotate(item_total=Coalesce(Subquery(lines), 0))

    @admin.display(description="items", ordering="item_total")
    def item_count(self, obj):
        return obj.item_total

    def save_model(self, request, obj, form, change):
        new_status = form.cleaned_data.get("new_status")
        if "tracking_number" in form.changed_data:
            obj.save(update_fields=["tracking_number", "updated_at"])
        if new_status:
            try:
                order_status_change(order=obj, status=new_status, note=form.cleaned_data.get("status_note", ""))
            except OrderError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)

    def _bulk_status(self, request, queryset, status):
        changed = 0
        for order in queryset:
            try:
                order_status_change(order=order, status=status, note=f"Changed by {request.user.email}.")
                changed += 1
            except OrderError as exc:
                self.message_user(request, f"{order.number}: {exc}", level=messages.WARNING)
        self.message_user(request, f"{changed} order(s) now {OrderStatus(status).label.lower()}.")

    @admin.action(description="Mark selected orders as paid")
    def mark_paid(self, request, queryset):
        self._bulk_status(request, queryset, OrderStatus.PAID)

    @admin.action(description="Mark selected orders as shipped")
    def mark_shipped(self, request, queryset):
        self._bulk_status(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description="Mark selected orders as delivered")
    def mark_delivered(self, request, queryset):
        self._bulk_status(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description="Cancel selected orders")
    def mark_cancelled(self, request, queryset):
        self._bulk_status(request, queryset, OrderStatus.CANCELLED)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["full_name", "user", "city", "region", "country"]
    list_select_related = ["user"]
    search_fields = ["full_name", "user__email", "city", "postal_code"]
    list_filter = ["country"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["user", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
