"""Text fields that are safe to search, store and echo back as JSON."""

import re
from typing import Annotated

from pydantic import AfterValidator

# JSON can carry control characters and lone surrogates (`"\ud800"`); a database or a UTF-8
# response cannot, so they are refused at the edge with a 422 instead of failing later. C1
# controls (U+0080-U+009F) are no text either (and no font draws them in the gap chart).
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _safe(value: str) -> str:
    if bad := _UNSAFE.search(value):
        raise ValueError(
            f"contains the control or invalid character U+{ord(bad.group()):04X}; remove it"
        )
    return value


SafeText = Annotated[str, AfterValidator(_safe)]
