"""Autogenerate sees every table model: a model missing from the metadata would be dropped."""

import importlib
import pkgutil
from pathlib import Path

from sqlmodel import SQLModel

import app.models
from app.models import MODEL_MODULES, metadata


def _table_models() -> list[type[SQLModel]]:
    found: list[type[SQLModel]] = []
    pending: list[type[SQLModel]] = [SQLModel]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("app.") and hasattr(sub, "__table__"):
                found.append(sub)
    return found


def test_every_module_of_the_package_is_imported() -> None:
    modules = {
        f"app.models.{info.name}"
        for info in pkgutil.iter_modules(app.models.__path__)
        if not info.name.startswith("_")
    }
    assert modules == set(MODEL_MODULES)


def test_every_table_model_is_on_the_metadata_env_py_uses() -> None:
    models = _table_models()
    assert {"author", "book"} <= {model.__tablename__ for model in models}
    for model in models:
        table = model.__table__  # type: ignore[attr-defined]
        assert metadata.tables.get(table.name) is table, f"{model.__name__} is not on the metadata"


def test_env_py_compares_against_app_models_metadata() -> None:
    source = importlib.util.find_spec("app.storage.migrations.env")
    assert source is not None and source.origin is not None
    text = Path(source.origin).read_text()
    assert "from app.models import metadata" in text
    assert "toolkit.context_options(target_metadata)" in text
