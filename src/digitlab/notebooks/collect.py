"""Which cells of a student's notebook answer which assignment: the tagged cell and the cells added under it.

A student may write a solution in the assignment's own cell or in new cells right below it (a new cell is
one the companion notebook does not have: its id and its text are new). Those cells belong to the
assignment until the next cell that comes from the companion notebook, other than the assignment's own
check cells. Code assignments take code cells, written answers take markdown cells.
"""

from __future__ import annotations

from digitlab.notebooks.editions import CHECK, STUDENT, assignment_of, is_open, source_of, tags_of


def assignment_cells(student: dict, reference: dict) -> dict[str, list[dict]]:
    """Per assignment id, the student's cells that answer it, in notebook order."""
    ids = {cell.get("id") for cell in reference["cells"] if cell.get("id")}
    texts = {source_of(cell).strip() for cell in reference["cells"] if source_of(cell).strip()}
    found: dict[str, list[dict]] = {}
    current, kind = None, None
    for cell in student["cells"]:
        tags, name = tags_of(cell), assignment_of(cell)
        if STUDENT in tags and name:
            current, kind = name, cell.get("cell_type")
            found.setdefault(name, []).append(cell)
        elif cell.get("id") in ids or source_of(cell).strip() in texts or tags:
            if not (CHECK in tags and name == current):
                current = None
        elif current and cell.get("cell_type") == kind and source_of(cell).strip():
            found[current].append(cell)
    return found


def is_blank(cells: list[dict]) -> bool:
    """True when none of ``cells`` holds more than the student edition's placeholder (or nothing)."""
    return all(is_open(cell) or not source_of(cell).strip() for cell in cells)


def answer_text(cells: list[dict]) -> str:
    """A written answer's text: its cells that are not the placeholder, joined."""
    return "\n\n".join(source_of(cell).strip() for cell in cells if not is_open(cell) and source_of(cell).strip())
