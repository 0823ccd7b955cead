"""docs/schema.md: the pictures of the schema, in Mermaid (GitHub renders it).

- the ER diagram of the models, written by paracelsus from their SQLAlchemy MetaData;
- the revision graph, from Alembic's own map: every revision, its branches and merges.

`make migration-diagrams` writes the file, `make migration-check` fails when it is stale.
"""

from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData

from migration_toolkit.checks.connection import config_for
from migration_toolkit.revisions import replaced_by

TITLE = "# Schema\n"
INTRO = (
    "Generated from the models and the revisions by `make migration-diagrams` (also run by "
    "`make migration` and `make migration-snapshot`); `make migration-check` fails when it is "
    "out of date, so do not edit it by hand. The full schema as Postgres holds it is the "
    "snapshot, `{snapshot}`.\n"
)
# Characters with a meaning inside a quoted Mermaid label, written as Mermaid entity codes.
_ENTITIES = {"#": "#35;", '"': "#34;", "<": "#60;", ">": "#62;", "&": "#38;", "`": "#96;"}


def er_diagram(metadata: MetaData) -> str:
    """erDiagram of the models: tables, columns (PK/FK/UK, nullable) and foreign keys."""
    from paracelsus.transformers.mermaid import Mermaid

    text = str(Mermaid(metadata, "preserve-order", max_enum_members=5))
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def label(text: str) -> str:
    return '"' + "".join(_ENTITIES.get(char, char) for char in text) + '"'


def _doc(revision: Script) -> str:
    doc = " ".join((revision.doc or "").split())
    return doc if len(doc) <= 60 else doc[:57] + "..."


def revision_graph(script: ScriptDirectory) -> str:
    """A flowchart of the revisions, oldest at the top; merges and branches as Alembic sees
    them; the head(s) and squashed revisions marked."""
    ordered = list(reversed(list(script.walk_revisions())))
    ids = {revision.revision: f"r{number}" for number, revision in enumerate(ordered, 1)}
    heads = set(script.get_heads())
    lines = ["flowchart TD"]
    for revision in ordered:
        text = f"{revision.revision}: {_doc(revision)}"
        replaced = replaced_by(revision)
        if replaced and "squash" not in text:
            text += f" (squash of {len(replaced)} revisions)"
        if revision.revision in heads:
            text += " (head)"
        shape = ("{{", "}}") if revision.is_merge_point else ("[", "]")
        lines.append(f"    {ids[revision.revision]}{shape[0]}{label(text)}{shape[1]}")
    for revision in ordered:
        for parent in parents(revision):
            if parent in ids:
                lines.append(f"    {ids[parent]} --> {ids[revision.revision]}")
    return "\n".join(lines) + "\n"


def parents(revision: Script) -> tuple[str, ...]:
    down = revision.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def render(metadata: MetaData, script: ScriptDirectory, snapshot: str) -> str:
    return "\n".join(
        [
            TITLE,
            INTRO.format(snapshot=snapshot),
            "## Tables\n",
            "The models' tables and their foreign keys (PK, FK, UK: primary, foreign, unique "
            "key).\n",
            "```mermaid",
            er_diagram(metadata).rstrip("\n"),
            "```\n",
            "## Revisions\n",
            "Every revision, oldest first; a hexagon is a merge of two heads.\n",
            "```mermaid",
            revision_graph(script).rstrip("\n"),
            "```\n",
        ]
    )


def current() -> str:
    """docs/schema.md as the code describes it now."""
    from migration_toolkit.checks.drift import models_metadata
    from migration_toolkit.config import current_project
    from migration_toolkit.schema.snapshot import shown

    project = current_project()
    script = ScriptDirectory.from_config(config_for())
    return render(models_metadata(), script, shown(project.schema_file, project))
