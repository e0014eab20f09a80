"""DRF throttles that know the client the way every other limiter does (core.ratelimit.client_ip).

DRF's own get_ident() reads X-Forwarded-For by NUM_PROXIES and, with NUM_PROXIES unset, uses the
whole header as the key: a client that writes a new header each time is never throttled.
"""

from rest_framework import throttling

from core.ratelimit import client_ip


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request):
        return client_ip(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request):
        return client_ip(request)
