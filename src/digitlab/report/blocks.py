"""What a report section is made of: text, tables, figures, a pixel matrix, notes.

Sections are built as data (these dataclasses) and rendered by one Jinja template, so the numbers
and sentences can be tested without parsing HTML. Figures are embedded as base64 PNG data URIs:
the page is one self-contained file that needs nothing else to open.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from matplotlib.figure import Figure

from digitlab.report.i18n import t

FIGURE_DPI = 90  # sharp enough on screen while keeping the page a few MB at most


@dataclass
class Text:
    html: Markup | str  # one paragraph; Markup keeps its links, plain str is escaped
    kind: str = "text"
    conclusion: bool = False  # reads something into the numbers: left out of a page built from quick runs


@dataclass
class Heading:
    text: str  # a sub-heading inside a section
    kind: str = "heading"
    anchor: str = ""  # its id, for links from elsewhere on the page ("" = none)


@dataclass
class Answer:
    """The answer to one of the notebook's "Schrijf hier je antwoord" questions, set apart."""

    question: str
    paragraphs: list[Markup | str]  # the measurements and the reasoning behind the short answer
    kind: str = "answer"
    short: Markup | str = ""  # the answer itself in one or two sentences, with its number: what a student writes down


@dataclass
class Note:
    html: Markup | str  # a remark set apart, e.g. "not run yet"
    kind: str = "note"


@dataclass
class Table:
    header: list[str]
    rows: list[list[Any]]  # cells: str (escaped) or Markup (links)
    caption: str = ""
    kind: str = "table"


@dataclass
class Image:
    uri: str  # data:image/png;base64,...
    alt: str
    caption: str = ""
    max_width: int | None = None  # CSS pixels, for figures whose natural size is too big on a page


@dataclass
class Figures:
    images: list[Image]  # shown side by side when they fit
    kind: str = "figures"


@dataclass
class Pre:
    text: str  # preformatted, e.g. a pixel matrix
    caption: str = ""
    kind: str = "pre"


@dataclass
class Section:
    anchor: str  # id of the section element, for the table of contents
    title: str
    blocks: list[Any] = field(default_factory=list)


def figure_uri(figure: Figure) -> str:
    """The figure as a PNG data URI (digitlab's figures are built without pyplot: nothing to close)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image(figure: Figure, alt: str, caption: str = "", max_width: int | None = None) -> Image:
    return Image(figure_uri(figure), alt, caption, max_width)


FURTHER = "further"  # the anchor of the Verdieping part (report/parts.py) and the prefix of its topics' anchors


def further_anchor(topic: str) -> str:
    return f"{FURTHER}-{topic}"


def further_heading(topic: str) -> Heading:
    """A topic's heading in the Verdieping, with the anchor :func:`further_link` points at."""
    return Heading(str(t(f"further.heading.{topic}")), anchor=further_anchor(topic))


def further_link(topic: str) -> Markup:
    """'Meer hierover in de Verdieping: <topic>.', linking the main line to where the topic is worked out."""
    return t("further.link", anchor=further_anchor(topic), title=t(f"further.heading.{topic}"))


def not_run(sweep: str, dataset: str) -> Note:
    return Note(t("note.not_run", sweep=sweep, dataset=dataset))
