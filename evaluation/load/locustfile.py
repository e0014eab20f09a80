"""Locust load for `bench --part load`: shoppers browsing, searching, opening products, adding to the
cart, going through checkout and opening the help chat, against a running server (`make run`).

Each simulated shopper signs up once (a new account, loadtest-...@example.com) because checkout
needs an account. Checkout is submitted with the gateway's "declined" test card: the whole
checkout path runs (form, validation, payment step) without placing orders or taking stock from
the demo shop. Opening the chat is the help page that holds it: asking questions would measure
the SLM queue, which `bench --part chat` does.

The statistics start again once every shopper has signed up (unless a sign-up failed, which then
stays counted): ten simultaneous sign-ups (PBKDF2, about 3 s of CPU each) saturate two cores for
seconds, a burst of the load generator's own making, not the steady traffic the bar is about.
"""

import random
import re
import uuid

from locust import HttpUser, between, task

SEARCHES = ["headlamp", "something to keep my drinks cold on a hike", "tent for two", "water filter", "solar charger",
            "warm sleeping bag", "snacks for a long hike", "gps watch", "kayak paddle", "first aid kit", "rain jacket",
            "camping stove", "boots that keep my feet dry", "light for the campsite", "trekking poles"]
DECLINED_CARD = "4000000000000002"
_signed_up: set[int] = set()


class Shopper(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.categories: list[str] = []
        self.products: list[str] = []
        self.product_ids: list[str] = []
        home = self.client.get("/", name="/ (home)")
        self.categories = sorted(set(re.findall(r'href="/c/([\w-]+)/"', home.text))) or ["none"]
        listing = self.client.get("/api/products/", name="/api/products/ (setup)")
        self.products = [p["slug"] for p in listing.json().get("results", [])] if listing.ok else []
        self.client.get("/accounts/signup/", name="/accounts/signup/")
        password = uuid.uuid4().hex
        self.client.post("/accounts/signup/", name="/accounts/signup/", data={
            "email": f"loadtest-{uuid.uuid4().hex[:12]}@example.com", "first_name": "Load", "last_name": "Test",
            "password1": password, "password2": password, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")})
        _signed_up.add(id(self))
        runner = self.environment.runner
        if len(_signed_up) == getattr(runner, "target_user_count", -1) and not self.environment.stats.total.num_failures:
            self.environment.stats.reset_all()

    def _csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    @task(4)
    def browse(self):
        self.client.get("/", name="/ (home)")
        self.client.get(f"/c/{random.choice(self.categories)}/", name="/c/[category]/")

    @task(4)
    def search(self):
        self.client.get("/search/", params={"q": random.choice(SEARCHES)}, name="/search/?q=[query]")

    @task(4)
    def product_page(self):
        if not self.products:
            return
        page = self.client.get(f"/p/{random.choice(self.products)}/", name="/p/[product]/")
        found = re.search(r'name="product_id" value="(\d+)"', page.text)
        if found and found.group(1) not in self.product_ids:
            self.product_ids.append(found.group(1))

    @task(2)
    def add_to_cart(self):
        if not self.product_ids:
            return
        self.client.post("/cart/add/", name="/cart/add/", data={
            "product_id": random.choice(self.product_ids), "quantity": "1", "csrfmiddlewaretoken": self._csrf()})

    @task(1)
    def checkout(self):
        if not self.product_ids:
            return
        with self.client.get("/checkout/", name="/checkout/", catch_response=True, allow_redirects=False) as page:
            if page.status_code == 302:  # an empty cart goes back to the cart: not an error
                page.success()
                return
        with self.client.post("/checkout/", name="/checkout/ (submit, declined card)", catch_response=True, data={
                "full_name": "Load Test", "line1": "1 Test Street", "city": "Boulder", "region": "CO", "postal_code": "80301",
                "country": "US", "shipping_method": "standard", "card_number": DECLINED_CARD, "expiry": "12/35", "cvc": "123",
                "csrfmiddlewaretoken": self._csrf()}) as response:
            if response.status_code in (200, 400) and "declined" in response.text.lower():
                response.success()
            else:
                response.failure(f"checkout answered {response.status_code} without the declined message")

    @task(1)
    def open_chat(self):
        self.client.get("/support/help/", name="/support/help/ (chat)")
