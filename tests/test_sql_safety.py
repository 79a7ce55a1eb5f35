"""No SQL is built from a value: values go as query parameters; only checked identifiers are formatted in.

Every `query`/`command`/`raw_insert` call whose SQL is an f-string (or a name bound to one) is listed, and
each must be in the allowed list below with the reason its formatted parts cannot carry a value.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLS = {"query", "command", "raw_insert", "query_df", "insert"}
# (file, formatted names) → why that is safe
ALLOWED = {
    ("services/analytics/veille_analytics/clickhouse.py", "settings.clickhouse_database"):
        "an identifier the settings pattern limits to [A-Za-z_][A-Za-z0-9_]*",
    ("services/analytics/veille_analytics/schema.py", "days"): "an int from int(retention_days)",
    ("services/analytics/veille_analytics/sinks.py", "table"): "one of the service's own table names",
    ("veille/demo.py", "settings.clickhouse_database"): "an identifier the settings pattern limits",
    ("veille/roundtrip.py", "TABLE"): "a module constant",
    ("veille/infra/clickhouse_server.py", "pipe"): "the server's own stop pipe, under its working directory",
}  # fmt: skip


def _formatted(node: ast.AST) -> set[str]:
    return {ast.unparse(v.value) for v in ast.walk(node) if isinstance(v, ast.FormattedValue)}


def _sql_built_with_formatting() -> set[tuple[str, str]]:
    found = set()
    for path in [*ROOT.glob("services/*/veille_*/**/*.py"), *ROOT.glob("veille/**/*.py")]:
        tree = ast.parse(path.read_text())
        strings = {  # names bound to f-strings in the module, e.g. query = f"SELECT … {x}"
            target.id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.JoinedStr)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.args):
                continue
            if call.func.attr not in CALLS:
                continue
            sql = call.args[0]
            sql = strings.get(sql.id, sql) if isinstance(sql, ast.Name) else sql
            if isinstance(sql, ast.JoinedStr):
                found |= {(str(path.relative_to(ROOT)), name) for name in _formatted(sql)}
    return found


def test_sql_is_formatted_only_with_checked_identifiers_and_constants() -> None:
    found = _sql_built_with_formatting()
    assert found, "the scan found no formatted SQL at all: it no longer sees the calls"
    assert found <= set(ALLOWED), sorted(found - set(ALLOWED))
