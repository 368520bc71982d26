"""SuiteQL's errors: NetSuite's code and texts for a query it refuses (the 400 body)."""

from __future__ import annotations

from typing import Any

ERROR_CODE = "INVALID_PARAMETER"
ERROR_TYPE = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1"
DETAIL_PREFIX = "Invalid search query. Detailed unprocessed description follows. "
SEARCH_ERROR = "Search error occurred: "
UNSUPPORTED = "Invalid or unsupported search."
SEARCH_TIMED_OUT = "The search has timed out."  # [U] wording


class SuiteQLError(Exception):
    """A query NetSuite would refuse, with NetSuite's own code and text.

    `detail` is the wire text; `hint` (not sent to clients) says what the simulator rejected.
    """

    status = 400
    code = ERROR_CODE
    query_param = "q"

    def __init__(self, message: str, *, search_error: bool = True, hint: str = "") -> None:
        self.message = message
        self.detail = DETAIL_PREFIX + (SEARCH_ERROR if search_error else "") + message
        self.hint = hint
        super().__init__(self.detail if not hint else f"{self.detail} [{hint}]")

    def error_detail(self) -> dict[str, str]:
        """One `o:errorDetails` entry, as NetSuite writes it."""
        return {
            "detail": self.detail,
            "o:errorQueryParam": self.query_param,
            "o:errorCode": self.code,
        }

    def problem(self) -> dict[str, Any]:
        """The whole 400 body."""
        return {
            "type": ERROR_TYPE,
            "title": "Bad Request",
            "status": self.status,
            "o:errorDetails": [self.error_detail()],
        }


class SearchTimeout(SuiteQLError):
    """A query past the simulator's evaluation budget, answered as a search that timed out.

    [U] NetSuite's REST answer to a SuiteQL query that runs too long is not documented: the
    code is NetSuite's own for a search that timed out (`SSS_SEARCH_TIMEOUT`, in its SOAP
    fault code list and reported for slow SuiteQL in SuiteScript); the status, the detail's
    wording and that it keeps the usual SuiteQL prefix are chosen to match the errors above.
    """

    code = "SSS_SEARCH_TIMEOUT"

    def __init__(self) -> None:
        super().__init__(SEARCH_TIMED_OUT, hint="the query passed its row budget")


def unsupported(hint: str) -> SuiteQLError:
    return SuiteQLError(UNSUPPORTED, hint=hint)


def short(text: str, limit: int = 40) -> str:
    """`text` quoted for a hint, cut short."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
