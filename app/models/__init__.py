"""Every table model, found by importing each module of this package.

A new module is picked up without edits elsewhere. A module that fails to import stops
everything: skipping it would make autogenerate propose dropping its table.
"""

import importlib
import pkgutil

from sqlmodel import SQLModel

from app.models.naming import NAMING_CONVENTION


class ModelImportError(ImportError):
    """A model module could not be imported; its tables would look deleted."""


SQLModel.metadata.naming_convention = NAMING_CONVENTION


def _import_all() -> list[str]:
    names: list[str] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = f"{__name__}.{info.name}"
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ModelImportError(
                f"model module {module} failed to import ({type(exc).__name__}: {exc}); "
                "fix it before generating or running migrations"
            ) from exc
        names.append(module)
    return names


MODEL_MODULES = _import_all()
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
