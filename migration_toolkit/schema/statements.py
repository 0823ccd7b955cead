"""Split SQL text (pg_dump's) into statements, as psql would.

A `;` ends a statement unless it is inside a string ('...', E'...'), a quoted identifier
("..."), a dollar-quoted body ($$...$$, $tag$...$tag$) or a comment (-- and /* */, nested).
psql meta-commands (a line starting with a backslash) are left out.
"""

import re

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def split(sql: str) -> list[str]:
    """The statements of sql, each stripped, without its `;` and without comment lines."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    at_line_start = True
    while i < n:
        char = sql[i]
        if at_line_start and char == "\\":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        at_line_start = False
        if char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if char == "/" and sql.startswith("/*", i):
            i = _block_comment_end(sql, i)
            continue
        if char in "'\"":
            end = _quote_end(sql, i, char)
            current.append(sql[i:end])
            i = end
            continue
        if char == "$":
            found = _DOLLAR.match(sql, i)
            if found is not None:
                tag = found.group(0)
                close = sql.find(tag, found.end())
                end = n if close < 0 else close + len(tag)
                current.append(sql[i:end])
                i = end
                continue
        if char == ";":
            _flush(current, statements)
            i += 1
            continue
        if char == "\n":
            at_line_start = True
        current.append(char)
        i += 1
    _flush(current, statements)
    return statements


def _flush(current: list[str], statements: list[str]) -> None:
    text = "".join(current).strip()
    current.clear()
    if text:
        statements.append(text)


def _quote_end(sql: str, start: int, quote: str) -> int:
    """Index just past the closing quote; a doubled quote is part of the text."""
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\" and quote == "'" and start > 0 and sql[start - 1] in "eE":
            i += 2
            continue
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _block_comment_end(sql: str, start: int) -> int:
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(sql)
