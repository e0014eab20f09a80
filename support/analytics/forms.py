import datetime as dt

from django import forms

from support.analytics.selectors import DateRange

MAX_RANGE_DAYS = 366
DEFAULT_DAYS = 30


class DateRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        default = DateRange.last_days(DEFAULT_DAYS)
        start, end = cleaned.get("start"), cleaned.get("end")
        if self.errors:
            return cleaned
        end = end or default.end
        start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Pick a range of at most {MAX_RANGE_DAYS} days.")
        cleaned["period"] = DateRange(start=start, end=end)
        return cleaned


def period_from(data) -> tuple[DateRangeForm, DateRange]:
    """The form and the range it names; the default range (last 30 days) when the input is invalid."""
    form = DateRangeForm(data)
    period = form.cleaned_data["period"] if form.is_valid() else DateRange.last_days(DEFAULT_DAYS)
    return form, period


class QuestionForm(forms.Form):
    """The question box; the ask service checks the text itself (control characters, length)."""

    question = forms.CharField(max_length=500, strip=True, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. How many tickets per category were opened this month?"}))

