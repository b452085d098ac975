"""The block library: ``.lcblock`` files, shipped with LayerCanvas and saved by the user.

A block file is UTF-8 JSON holding one definition and every definition it uses inside::

    {"format": "layercanvas-block", "version": 1,
     "block": {"name": "residual_basic", "title": "Residual block (basic)",
               "description": "...", "inputs": ["x"], "output": "relu_out",
               "graph": {"nodes": [...], "edges": [...]}},
     "dependencies": {"se": {"title": ..., "inputs": [...], "output": ..., "graph": ...}}}

Reading never executes anything: the file goes through the same bounded, strict JSON reader
as project files (:func:`engine.graph.project_json.read_json_file`) and the same node checks
as a project's graph, and then each definition must be usable (ports, one output, no dead
ends, every inner block included, none containing itself). Every failure is a
:class:`BlockFileError` naming the file, the key and the problem.

Shipped blocks live in ``resources/blocks/``; the user's in ``<data dir>/blocks/`` (the app
passes its data directory: ``$LAYERCANVAS_DATA_DIR`` or the platform's application-data
folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.graph.block_definition import BLOCK, BlockDefinition, block_name_of
from engine.graph.block_expand import definition_problem
from engine.graph.document import GraphDocument, GraphFormatError
from engine.graph.project_json import ProjectError, dumps_readable, read_json_file
from engine.safe_files import write_text_atomic

__all__ = [
    "BLOCK_FORMAT",
    "BLOCK_VERSION",
    "MAX_BLOCK_BYTES",
    "MAX_DEPENDENCIES",
    "SHIPPED_DIR",
    "SUFFIX",
    "BlockFileError",
    "InsertPlan",
    "LibraryEntry",
    "block_to_json",
    "dependencies_of",
    "insert_block",
    "list_blocks",
    "load_block",
    "save_block",
    "user_library_dir",
]

BLOCK_FORMAT, BLOCK_VERSION, SUFFIX = "layercanvas-block", 1, ".lcblock"
#: A block file holds a few small graphs; anything bigger is not one.
MAX_BLOCK_BYTES = 1024 * 1024
#: Blocks used inside one block (nesting is far shallower: the checker allows 32 levels).
MAX_DEPENDENCIES = 100
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "resources" / "blocks"
_NAME = re.compile(r"^[A-Za-z_][0-9A-Za-z_]{0,63}$")


class BlockFileError(ProjectError):
    """A block file cannot be read (``file``, ``key`` and ``problem`` say where and what)."""


@dataclass(frozen=True)
class LibraryEntry:
    """One block in the library, as the palette lists it."""

    name: str
    title: str
    description: str
    source: str  # "shipped" or "user"
    path: Path


@dataclass(frozen=True)
class InsertPlan:
    """What inserting a library block adds: ``definitions`` (in the order to add them; none
    when linking to a definition the project has) and the ``name`` the new Block node uses."""

    name: str
    title: str
    definitions: tuple[BlockDefinition, ...]
    port_count: int

    def node_params(self) -> dict[str, str]:
        return {"block": self.name}


def user_library_dir(data_dir: str | Path) -> Path:
    """Where the user's blocks are saved: ``<data dir>/blocks``."""
    return Path(data_dir) / "blocks"


def list_blocks(data_dir: str | Path | None = None) -> list[LibraryEntry]:
    """The shipped blocks, then the user's (each by title). Files that cannot be read are
    left out of the list; loading one gives its error."""
    entries = _entries(SHIPPED_DIR, "shipped")
    if data_dir is not None:
        entries += _entries(user_library_dir(data_dir), "user")
    return entries


def _entries(folder: Path, source: str) -> list[LibraryEntry]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            definition, _ = load_block(path)
        except (OSError, ValueError):
            continue
        found.append(
            LibraryEntry(definition.name, definition.title, definition.description, source, path)
        )
    return sorted(found, key=lambda e: e.title.lower())


def load_block(path: str | Path) -> tuple[BlockDefinition, dict[str, BlockDefinition]]:
    """The definition in a block file and the definitions it uses (name -> definition)."""
    path = Path(path)
    data = _read(path)
    block = data.get("block")
    if not isinstance(block, dict):
        raise BlockFileError(path, "block", "expected the block's definition (an object)")
    name = block.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise BlockFileError(
            path, "block.name", "expected a name of letters, digits and _ (at most 64)"
        )
    dependencies = data.get("dependencies", {})
    if not isinstance(dependencies, dict):
        raise BlockFileError(path, "dependencies", "expected an object of block definitions")
    if len(dependencies) > MAX_DEPENDENCIES:
        raise BlockFileError(
            path,
            "dependencies",
            f"{len(dependencies)} inner blocks; a block file holds at most {MAX_DEPENDENCIES}",
        )
    for dep in dependencies:
        if not _NAME.match(dep) or dep == name:
            raise BlockFileError(path, f"dependencies.{dep}", "not a usable block name")
    entries = {name: {k: v for k, v in block.items() if k != "name"}, **dependencies}
    try:
        parsed = GraphDocument.from_json({"nodes": [], "edges": [], "blocks": entries}).blocks
    except GraphFormatError as err:
        raise BlockFileError(path, _file_key(err.key, name), err.problem) from None
    for def_name, definition in parsed.items():
        where = "block" if def_name == name else f"dependencies.{def_name}"
        for used in _uses(definition):
            if used not in parsed:
                raise BlockFileError(
                    path, where, f"uses the block '{used}', which the file does not include"
                )
        problem = definition_problem(definition)
        if problem is not None:
            raise BlockFileError(path, where, problem)
    loop = _find_loop(parsed)
    if loop:
        raise BlockFileError(path, "", f"block '{loop[0]}' contains itself ({' -> '.join(loop)})")
    definition = parsed.pop(name)
    return definition, parsed


def _read(path: Path) -> dict[str, Any]:
    try:
        data = read_json_file(path, MAX_BLOCK_BYTES, "block file")
    except ProjectError as err:
        raise BlockFileError(err.file, err.key, err.problem) from None
    if not isinstance(data, dict) or data.get("format") != BLOCK_FORMAT:
        raise BlockFileError(path, "format", f"not a LayerCanvas block file ({BLOCK_FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BlockFileError(path, "version", "expected a format version number")
    if version > BLOCK_VERSION:
        raise BlockFileError(
            path,
            "version",
            f"made by a newer LayerCanvas (format version {version}; this one reads up to "
            f"{BLOCK_VERSION}): update LayerCanvas to use it",
        )
    return data


def _file_key(key: str, name: str) -> str:
    """``blocks.<name>.graph...`` (the document's key) as the file's ``block.graph...``."""
    head = f"blocks.{name}"
    if key == head or key.startswith(head + "."):
        return "block" + key[len(head) :]
    return "dependencies" + key[len("blocks") :] if key.startswith("blocks") else key


def _uses(definition: BlockDefinition) -> list[str]:
    return [block_name_of(n) or "" for n in definition.graph.nodes if n.type == BLOCK]


def _find_loop(definitions: dict[str, BlockDefinition]) -> list[str] | None:
    """A chain of definitions that leads back to its start, or ``None``."""
    done: set[str] = set()

    def visit(path: list[str]) -> list[str] | None:
        for used in _uses(definitions[path[-1]]):
            if used in path:
                return [*path[path.index(used) :], used]
            if used in definitions and used not in done:
                found = visit([*path, used])
                if found:
                    return found
        done.add(path[-1])
        return None

    for name in definitions:
        found = None if name in done else visit([name])
        if found:
            return found
    return None


def dependencies_of(name: str, doc: GraphDocument) -> dict[str, BlockDefinition]:
    """The definitions ``doc.blocks[name]`` uses inside, directly or not (not itself)."""
    blocks = doc.blocks
    found: dict[str, BlockDefinition] = {}
    todo = [name]
    while todo:
        for used in _uses(blocks[todo.pop()]):
            if used != name and used in blocks and used not in found:
                found[used] = blocks[used]
                todo.append(used)
    return found


def block_to_json(definition: BlockDefinition, doc: GraphDocument) -> dict[str, Any]:
    """The content of a block file for ``definition`` (its dependencies from ``doc``)."""
    block = {"name": definition.name, **definition.to_json()}
    dependencies = dependencies_of(definition.name, doc) if definition.name in doc.blocks else {}
    data: dict[str, Any] = {"format": BLOCK_FORMAT, "version": BLOCK_VERSION, "block": block}
    if dependencies:
        data["dependencies"] = {n: d.to_json() for n, d in dependencies.items()}
    return data


def save_block(definition: BlockDefinition, doc: GraphDocument, data_dir: str | Path) -> Path:
    """Write ``definition`` (with the definitions it uses, from ``doc``) to the user's
    library in ``data_dir``, atomically; returns the file (named after the definition, so
    saving it again replaces it). Raises ``OSError`` when it cannot be written."""
    problem = definition_problem(definition)
    if problem is not None:
        raise ValueError(f"block '{definition.name}' cannot be saved: {problem}")
    folder = user_library_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^0-9A-Za-z_]+", "_", definition.name).strip("_") or "block"
    path = folder / f"{stem}{SUFFIX}"
    text = dumps_readable(block_to_json(definition, doc))
    write_text_atomic(path, text + "\n")
    return path


def insert_block(doc: GraphDocument, entry: LibraryEntry | str | Path, linked: bool) -> InsertPlan:
    """What to add to ``doc`` to use the library block ``entry`` (an entry or a file).

    ``linked``: a use of the project's definition of the same name, if it has one (else the
    block is added under its own name). Otherwise an independent copy under a free name.
    A definition the block uses inside is shared when the project has the same one, and
    copied under a free name (the uses renamed to match) when it has a different one."""
    definition, dependencies = load_block(entry.path if isinstance(entry, LibraryEntry) else entry)
    blocks = doc.blocks
    if linked and definition.name in blocks:
        existing = blocks[definition.name]
        return InsertPlan(existing.name, existing.title, (), existing.port_count)
    taken = set(blocks)
    renames: dict[str, str] = {}
    adding = []
    for dep_name, dep in dependencies.items():
        existing = blocks.get(dep_name)
        if existing is not None and existing.same_content(dep):
            continue
        new = _free_name(dep_name, taken)
        taken.add(new)
        renames[dep_name] = new
        adding.append(dep.copy(new))
    name = definition.name if linked else _free_name(definition.name, taken)
    if name in taken:  # linked, but the name is free: keep it
        name = _free_name(name, taken)
    adding.append(definition.copy(name))
    for added in adding:
        for node in added.graph.nodes:
            used = block_name_of(node) if node.type == BLOCK else None
            if used in renames:
                node.params = {**node.params, "block": renames[used]}
    return InsertPlan(name, definition.title, tuple(adding), definition.port_count)


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"
