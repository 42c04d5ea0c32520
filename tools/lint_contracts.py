"""import-linter contract types of our own (registered in pyproject.toml, ``contract_types``).

``private_modules``: a module whose name (or a parent's) starts with ``_`` is private to the package that
holds it. Only that package and its descendants may import it; any other module importing it breaks the
contract, e.g. ``foldwise.gui.panels.x -> foldwise.core.remote._sftp`` (private to ``foldwise.core.remote``).
The fix is to make what is needed public in its package (a module without ``_``), or to move it.
import-linter's ``protected`` type cannot say this in one rule: its allowed importers are a fixed list, not
"the package the private module lives in".
"""

from __future__ import annotations

from dataclasses import dataclass

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application.contract_utils import AlertLevel, remove_ignored_imports


def private_owner(module: str) -> str | None:
    """The package ``module`` is private to: the part before its first ``_name`` component (dunder names
    such as ``__main__`` are not private), or None for a public module."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")) and i > 0:
            return ".".join(parts[:i])
    return None


def is_inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@dataclass(frozen=True)
class PrivateImport:
    importer: str
    imported: str
    owner: str
    line_numbers: tuple[int, ...]


def private_imports(graph: ImportGraph, containers: list[str]) -> list[PrivateImport]:
    """Every direct import, within ``containers``, of a private module from outside the package owning it."""
    found = []
    for imported in sorted(graph.modules):
        owner = private_owner(imported)
        if owner is None or not any(is_inside(imported, c) for c in containers):
            continue
        for importer in sorted(graph.find_modules_that_directly_import(imported)):
            if is_inside(importer, owner):
                continue
            details = graph.get_import_details(importer=importer, imported=imported)
            found.append(PrivateImport(importer, imported, owner, tuple(d["line_number"] for d in details)))
    return found


class PrivateModulesContract(Contract):
    """No module imports another package's private ``_module``.

    Configuration options:
        - containers:   the packages whose private modules are checked (default: the root packages).
        - ignore_imports: import expressions to leave out (optional).
        - unmatched_ignore_imports_alerting: "none", "warn" or "error" (default) for an ignore that matches
                        no import.
    """

    type_name = "private_modules"

    containers = fields.ListField(subfield=fields.StringField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        warnings = remove_ignored_imports(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        containers = list(self.containers or self.session_options["root_packages"])  # type: ignore[arg-type]
        found = private_imports(graph, containers)
        return ContractCheck(kept=not found, warnings=warnings, metadata={"private_imports": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["private_imports"]:
            lines = ", ".join(map(str, item.line_numbers))
            output.print_error(f"{item.importer} -> {item.imported} (l.{lines}): private to {item.owner}",
                               bold=False)
            output.new_line()
