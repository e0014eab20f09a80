"""Demo data, seeded by reference: each demo row carries a stable "ref", stored on the model's
`demo_ref`, so seeding again adds only what is not there (idempotent, never a second copy)."""

from django.db import models


def demo_rows_new(rows: list[dict], *, model: type[models.Model]) -> tuple[list[tuple[int, str, dict]], int]:
    """(index in `rows`, ref, row) of each row whose "ref" no `model` row carries yet, and how many do.

    Raises KeyError when a row has no "ref" (the caller names its file as malformed)."""
    refs = [str(row["ref"]) for row in rows]
    existing = set(model.objects.filter(demo_ref__in=refs).values_list("demo_ref", flat=True))
    new = [(index, ref, row) for index, (ref, row) in enumerate(zip(refs, rows, strict=True)) if ref not in existing]
    return new, len(rows) - len(new)
