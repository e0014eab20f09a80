import os

from django.core.wsgi import get_wsgi_application

from config.warm_up import pages_warm, query_encoder_warm

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")
application = get_wsgi_application()
query_encoder_warm()
pages_warm()
