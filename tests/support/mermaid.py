"""A structural check of the two Mermaid diagrams docs/schema.md holds.

PyPI has no kept Mermaid parser (the real one is JavaScript), so this checks each line
against the grammar of the constructs we write, and what Mermaid itself would refuse:
every line of an erDiagram is an entity opening, an attribute, a closing brace or a
relationship; every line of a flowchart is a node or an edge; braces balance; labels are
quoted with no bare quote inside; every edge joins declared nodes.
"""

import re

_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
# erDiagram: `  author {`, `    VARCHAR(255) name PK,FK "comment"`, `  }`,
# `  author ||--o{ book : author_id`
_ENTITY_OPEN = re.compile(rf"^\s*({_NAME})\s*\{{$")
_ATTRIBUTE = re.compile(
    rf"^\s*[A-Za-z][A-Za-z0-9_()\-\[\]]*\s+{_NAME}(\s+(PK|FK|UK)(\s*,\s*(PK|FK|UK))*)?"
    r'(\s+"[^"]*")?$'
)
_CARDINALITY = r"(\|o|\|\||\}o|\}\||o\||o\{|\|\{|\|\})"
_RELATIONSHIP = re.compile(
    rf"^\s*({_NAME})\s+{_CARDINALITY}(--|\.\.){_CARDINALITY}\s+({_NAME})\s*:\s*"
    r'("[^"]*"|[A-Za-z0-9_\-]+)$'
)
# flowchart: `    r1["label"]`, `    r2{{"label"}}`, `    r1 --> r2`
_NODE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9_]*)(\["[^"]*"\]|\{\{"[^"]*"\}\})$')
_EDGE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s+-->\s+([A-Za-z][A-Za-z0-9_]*)$")


def blocks(markdown: str) -> list[str]:
    """The bodies of the ```mermaid fences of a markdown text, in order."""
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, re.MULTILINE | re.DOTALL)


def er_problems(diagram: str) -> list[str]:
    lines = [line for line in diagram.splitlines() if line.strip()]
    if not lines or lines[0].strip() != "erDiagram":
        return ["does not start with erDiagram"]
    problems: list[str] = []
    entities: set[str] = set()
    inside: str | None = None
    for number, line in enumerate(lines[1:], start=2):
        if inside is not None:
            if line.strip() == "}":
                inside = None
            elif not _ATTRIBUTE.match(line):
                problems.append(f"line {number}: not an attribute of {inside}: {line!r}")
            continue
        opened = _ENTITY_OPEN.match(line)
        if opened:
            inside = opened.group(1)
            entities.add(inside)
            continue
        related = _RELATIONSHIP.match(line)
        if related:
            for entity in (related.group(1), related.group(5)):
                if entity not in entities:
                    problems.append(f"line {number}: relationship names no entity {entity!r}")
            continue
        problems.append(f"line {number}: not erDiagram syntax: {line!r}")
    if inside is not None:
        problems.append(f"entity {inside} is never closed")
    return problems


def flowchart_problems(diagram: str) -> list[str]:
    lines = [line for line in diagram.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"flowchart (TD|TB|BT|LR|RL)", lines[0].strip()):
        return ["does not start with `flowchart <direction>`"]
    problems: list[str] = []
    nodes: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        node = _NODE.match(line)
        if node:
            if node.group(1) in nodes:
                problems.append(f"line {number}: node {node.group(1)} declared twice")
            nodes.add(node.group(1))
            continue
        edge = _EDGE.match(line)
        if edge:
            for end in edge.groups():
                if end not in nodes:
                    problems.append(f"line {number}: edge to undeclared node {end}")
            continue
        problems.append(f"line {number}: not flowchart syntax: {line!r}")
    return problems
