"""The Budgets page's form: the same checks as budgets.toml (budgets/config.py), one message per field."""

from django import forms

from budgets.config import parse_amount, parse_scope, parse_thresholds, parse_zone
from budgets.messages import money_text
from budgets.models import Budget, Channel


class BudgetForm(forms.ModelForm):
    scope = forms.CharField(
        max_length=220, initial="all", help_text="all, team:NAME, key:HASH, model:NAME or provider:NAME"
    )
    amount = forms.CharField(max_length=40, help_text="USD, exact, such as 50.00")
    thresholds_text = forms.CharField(
        label="Thresholds", initial="50, 80, 100", max_length=100, help_text="percentages, separated by commas"
    )
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Budget
        fields = ["name", "period", "zone", "notify_reset", "channels"]
        labels = {"notify_reset": "Notify when a new period starts"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.update(
                scope=self.instance.scope,
                amount=money_text(self.instance.amount_pico),
                thresholds_text=", ".join(str(t) for t in self.instance.thresholds),
            )

    def _checked(self, check, value):
        try:
            return check(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_scope(self) -> tuple[str, str]:
        return self._checked(parse_scope, self.cleaned_data["scope"])

    def clean_amount(self) -> int:
        return self._checked(parse_amount, self.cleaned_data["amount"])

    def clean_zone(self) -> str:
        return self._checked(parse_zone, self.cleaned_data["zone"].strip())

    def clean_thresholds_text(self) -> list[int]:
        parts = [part.strip() for part in self.cleaned_data["thresholds_text"].split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise forms.ValidationError("Thresholds are whole percentages separated by commas, such as 50, 80, 100.")
        return list(self._checked(parse_thresholds, [int(part) for part in parts]))

    def save(self, commit: bool = True) -> Budget:
        budget = super().save(commit=False)
        budget.scope_kind, budget.scope_value = self.cleaned_data["scope"]
        budget.amount_pico = self.cleaned_data["amount"]
        budget.thresholds = self.cleaned_data["thresholds_text"]
        if commit:
            budget.save()
            self.save_m2m()
        return budget
