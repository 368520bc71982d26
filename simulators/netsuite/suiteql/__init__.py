"""A SuiteQL parser and evaluator: the subset an integration sends to `POST /query/v1/suiteql`.

`execute(q, catalog)` returns every result row, in order; the HTTP layer pages them with
`limit`/`offset`. Each row is rendered the way NetSuite renders a SuiteQL item:

- `"links": []` comes first, then the selected columns (source: a captured SuiteQL response,
  kinuski-dev/misc-python `api-netsuite-oauth1/oracle-netsuite-api-suiteql-notes.md`);
- keys are lower case: the column name, or the alias (`SELECT c.email AS Mail` gives `mail`);
  an expression without an alias is named `expr1`, `expr2`, ... (so an unaliased `COUNT(*)`
  is `expr1`; [U] from memory of live responses, not from a document);
- every value is a string; booleans are `"T"`/`"F"`; numbers are plain decimals without
  exponent or trailing zeros (`"100"`, `"12.5"`); dates are `M/D/YYYY` and datetimes
  `M/D/YYYY h:mm am` (NetSuite's default date/time preferences); use `TO_CHAR` for other
  formats, as integrations do;
- a NULL column is left out of the item altogether ("SuiteQL omits null columns per row",
  reported by several independent integrations in the public code index).

Supported grammar (keywords and identifiers are case-insensitive)::

    SELECT [DISTINCT] [TOP n] item, ...        item: * | t.* | expr [[AS] alias]
    FROM table [[AS] alias]
      { [INNER] JOIN | LEFT [OUTER] JOIN | RIGHT [OUTER] JOIN | FULL [OUTER] JOIN } table [alias]
          ON condition
      | CROSS JOIN table [alias] | , table [alias]
    [WHERE condition]
    [ORDER BY expr | alias | position [ASC|DESC] [NULLS FIRST|LAST], ...]
    [;]

- conditions: AND, OR, NOT, parentheses, `= != <> < <= > >=`, `[NOT] IN (...)`,
  `[NOT] LIKE pattern [ESCAPE 'c']`, `[NOT] BETWEEN a AND b`, `IS [NOT] NULL`, and `ROWNUM`
  (Oracle semantics: `WHERE ROWNUM <= 10`);
- expressions: columns (`col`, `alias.col`, `table.col`), `'strings'` (`''` escapes a quote),
  numbers, `NULL`, `DATE '2024-01-31'`, unary minus, `+ - * /` (numbers; date +/- days),
  `||`, and the functions `LOWER UPPER TRIM NVL COALESCE TO_NUMBER TO_CHAR TO_DATE`;
  date formats (`TO_CHAR`/`TO_DATE`) accept `YYYY YY MM MON DD HH24 HH12 HH MI SS AM PM`,
  punctuation and `"quoted"` text (so `'YYYY-MM-DD"T"HH24:MI:SS'` works);
- aggregates: `COUNT(*)`, `COUNT(expr)`, `COUNT(DISTINCT expr)`; a query that counts selects
  only counts and returns one row.
- Oracle semantics that NetSuite inherits: `=` and `LIKE` are case-sensitive (integrations
  write `LOWER(email) = ...`); the empty string is NULL (so is a `""` value in a catalog row);
  NULL never compares equal; ORDER BY sorts NULLs last ascending and first descending.
- implicit conversions: number vs text converts the text to a number; date vs text parses the
  text (ISO 8601 or `M/D/YYYY [h:mm am]`). Where Oracle would raise ORA-01722 on text that is
  not a number, the comparison here is simply unknown (the row does not match).

Rejected with the generic "Invalid or unsupported search." (the text NetSuite gives for syntax
it cannot run): GROUP BY, HAVING, UNION, subqueries, CASE, `BUILTIN.*` functions (`BUILTIN.DF`),
other functions, Oracle `(+)` joins, quoted identifiers, SYSDATE. `SuiteQLError.hint` says what
the simulator did not understand (for people; it is not part of the wire body).

Errors (`SuiteQLError`, HTTP 400, `o:errorCode` `INVALID_PARAMETER`, `o:errorQueryParam` `q`);
every detail starts "Invalid search query. Detailed unprocessed description follows. ":

- unknown table: "... Invalid search type: <table>." (live-account test of the npm client
  julbrs/netsuite-api-client, `select id from transactiontablethatdoesnotexist`);
- unknown unqualified column: "... Search error occurred: Unknown identifier '<col>'. Available
  identifiers are: {<alias>=<table>, ...}." (same client's README and tests, and a body
  captured live from a sandbox in a Databricks Labs community-connector test, which also gives
  the code, `o:errorQueryParam`, type URL and title);
- unknown qualified column `t.col`: "... Search error occurred: Field '<col>' for record
  '<table>' was not found." (error strings quoted by several integrations in the index);
- anything else: "... Search error occurred: Invalid or unsupported search."
- a query past its evaluation budget (`execute(row_budget=)`, else the catalog's `row_budget`,
  else 250,000 row visits plus LIKE steps): `o:errorCode` `SSS_SEARCH_TIMEOUT`, "... Search
  error occurred: The search has timed out." ([U] see `errors.SearchTimeout`);
- [U] not seen anywhere, chosen to match the above: an unknown alias (`x.col`) reports
  "Unknown identifier 'x'"; a column name present in two joined tables reports
  "Ambiguous identifier '<col>'" with the same "Available identifiers" tail.

The modules, in the order a query meets them: `tokens` -> `parser` (building `nodes`) ->
`planner` (binds names against the `catalog`) -> `evaluator` (with `functions`, `values` for
conversions and rendering, and `dates` for Oracle format models); `errors` holds NetSuite's texts.
"""

from simulators.netsuite.suiteql.catalog import Catalog, MappingCatalog
from simulators.netsuite.suiteql.errors import SuiteQLError
from simulators.netsuite.suiteql.evaluator import execute
from simulators.netsuite.suiteql.nodes import Query
from simulators.netsuite.suiteql.parser import parse

__all__ = [
    "Catalog",
    "MappingCatalog",
    "Query",
    "SuiteQLError",
    "execute",
    "parse",
]
