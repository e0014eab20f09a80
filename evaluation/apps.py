from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    """The labelled evaluation and the benchmarks (`manage.py evaluate`, `manage.py bench`): the one
    app allowed to import every other (see docs/architecture.md); no product code imports it."""

    name = "evaluation"
    verbose_name = "Evaluation and benchmarks"
