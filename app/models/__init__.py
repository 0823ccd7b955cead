"""Every table model, found by importing each module of this package, subpackages included.

A new module is picked up without edits elsewhere, wherever it sits under app/models/ (moving
one between subpackages changes nothing). A module that fails to import stops everything:
skipping it would make autogenerate propose dropping its table. Modules and packages whose
name starts with `_` are left alone.
"""

import importlib
import pkgutil
from collections.abc import Iterable

from sqlmodel import SQLModel

from app.models.naming import NAMING_CONVENTION


class ModelImportError(ImportError):
    """A model module could not be imported; its tables would look deleted."""


SQLModel.metadata.naming_convention = NAMING_CONVENTION


def _import_all(path: Iterable[str], package: str) -> list[str]:
    names: list[str] = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = f"{package}.{info.name}"
        try:
            imported = importlib.import_module(module)
        except Exception as exc:
            raise ModelImportError(
                f"model module {module} failed to import ({type(exc).__name__}: {exc}); "
                "fix it before generating or running migrations",
                name=module,
            ) from exc
        names.append(module)
        if info.ispkg:
            names += _import_all(imported.__path__, module)
    return names


MODEL_MODULES = _import_all(__path__, __name__)
metadata = SQLModel.metadata

from app.models.author import Author, AuthorCreate, AuthorRead, AuthorUpdate  # noqa: E402
from app.models.book import Book, BookCreate, BookRead, BookUpdate  # noqa: E402

__all__ = [
    "MODEL_MODULES",
    "Author",
    "AuthorCreate",
    "AuthorRead",
    "AuthorUpdate",
    "Book",
    "BookCreate",
    "BookRead",
    "BookUpdate",
    "ModelImportError",
    "metadata",
]
