"""Text fields that are safe to search, store and echo back as JSON."""

import re
from typing import Annotated

from pydantic import AfterValidator

# JSON can carry control characters and lone surrogates (`"\ud800"`); a database or a UTF-8
# response cannot, so they are refused at the edge with a 422 instead of failing later. C1
# controls (U+0080-U+009F) are no text either (and no font draws them in the gap chart).
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def safe_text(value: str) -> str:
    """`value`, or a ValueError naming its first control or invalid character."""
    if bad := _UNSAFE.search(value):
        raise ValueError(
            f"contains the control or invalid character U+{ord(bad.group()):04X}; remove it"
        )
    return value


SafeText = Annotated[str, AfterValidator(safe_text)]


def not_blank(value: str) -> str:
    """`value`, or a ValueError when it holds nothing but spaces."""
    if not value.strip():
        raise ValueError("is blank: write a question")
    return value


# A question: safe text with something besides spaces in it.
QuestionText = Annotated[SafeText, AfterValidator(not_blank)]
# A length limit goes before the check (`Annotated[SafeText, Field(max_length=...)]` inside
# a container would check it after, with a message about "items").
