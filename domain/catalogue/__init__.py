"""The plan's 138 cross-province items (事项): curated data, loader, search, per-region guides.

`load_catalogue()` returns the packaged catalogue (`items.json`); `docs/catalogue.md` says how the
data was curated from the seed and how operators supply materials, fees and item codes.
"""

from __future__ import annotations

from domain.catalogue.loader import Catalogue, CatalogueError, load_catalogue, parse_catalogue
from domain.catalogue.materials import (
    MaterialsBook,
    MaterialsError,
    load_materials,
    materials_guide,
    parse_materials,
)
from domain.catalogue.model import (
    MODES,
    PROCESSES,
    TRANSFER_PROCESSES,
    Correction,
    Item,
    Mode,
    StepLimit,
)

__all__ = [
    "MODES",
    "PROCESSES",
    "TRANSFER_PROCESSES",
    "Catalogue",
    "CatalogueError",
    "Correction",
    "Item",
    "MaterialsBook",
    "MaterialsError",
    "Mode",
    "StepLimit",
    "load_catalogue",
    "load_materials",
    "materials_guide",
    "parse_catalogue",
    "parse_materials",
]
