"""Serializer fields every API app shares."""

from rest_framework import serializers

from portal.core.times import rfc3339


class UtcDateTimeField(serializers.DateTimeField):
    """A DRF DateTimeField that always writes RFC 3339 UTC with `Z`, whatever time zone is active."""

    def to_representation(self, value):
        if not value:
            return None
        if isinstance(value, str):
            return value
        return rfc3339(value)
