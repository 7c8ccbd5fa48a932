"""The server's JSON responses, every character outside ASCII escaped.

Starlette's JSONResponse writes UTF-8, which cannot carry half a character: a model
file whose name is not UTF-8 (b'm\\xfe.npz', held by Python as 'm\\udcfe.npz') made
/api/models answer 500.  Escaped (\\udcfe), the name stays valid JSON, and a browser
reads it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")  # fmt: skip
