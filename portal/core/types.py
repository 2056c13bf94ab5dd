"""Small shared types."""

from enum import Enum


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


# "Not given" for keyword-only update fields, so None can still mean "clear this field".
UNSET = _Unset.UNSET
Unset = type[_Unset]
