"""Serializer fields that take JSON values of the type the schema states, and only those.

DRF reads `"details": 0` as the text "0", `"granted": "yes"` as true and `"level": "3"` as 3: a
client sending the wrong type is never told, and the schema (text, yes/no, a number) is not what
the API accepts. A form body holds only text, so there DRF's reading of text stays as it is.
"""

from django.db import models
from django.http import QueryDict
from rest_framework import serializers


def _from_form(field: serializers.Field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool) and not _from_form(self):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if (isinstance(data, bool) or not isinstance(data, int)) and not _from_form(self):
            self.fail("invalid")
        return super().to_internal_value(data)


# A ModelSerializer whose text fields take text only. (A comment, not a docstring: drf-spectacular
# would show a docstring as the description of every serializer built on it.)
class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }
