from django import forms

from generations.fastrouter.errors import InvalidGenerationId
from generations.fastrouter.ids import MAX_GENERATION_ID_LENGTH, clean_generation_id


class LookupForm(forms.Form):
    generation_id = forms.CharField(
        label="Generation id",
        max_length=MAX_GENERATION_ID_LENGTH * 4,  # our own check below gives the clearer message
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. chatcmpl-fr-7d41c0a2e9b84f61", "autocomplete": "off", "autofocus": True}
        ),
        strip=False,
    )

    def clean_generation_id(self) -> str:
        try:
            return clean_generation_id(self.cleaned_data["generation_id"])
        except InvalidGenerationId as error:
            raise forms.ValidationError(error.user_message) from None
