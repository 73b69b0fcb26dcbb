"""Edited-face sets (``--protocol edits``): each identity an original face and the images editing models made of it.

Layout ``<root>/<identity>/<image>``. Roles come from a ``manifest.csv`` (columns ``file`` and ``role``, optional
``identity`` and ``folder_in_extraction``; ``file`` relative to the manifest's folder) in the root or the folder
above it (where one manifest lists several sets). Without a manifest every image of a folder is a genuine candidate
and the folder rule names the reference: its ``original.*`` image, else its first file in sorted order. An
identity whose manifest roles name no reference gets the same folder rule (the dataset's notes say which).

Pairs (:func:`edit_pairs`): genuine = each reference against each edited image of its identity (with
``edited_vs_edited``, also every two edited images of it); impostor = as many pairs, drawn seeded without repeats,
of the same kinds across identities that are not one person. One person: identities the manifest merged
(``folder_in_extraction`` differs from ``identity``) and the groups of a same-person list (``same_person.txt``
beside the manifest or in the root, or passed in: one group a line, identities separated by commas or spaces,
``#`` comments).

Read strictly: an unknown role, an image the manifest does not list, a listed file that is missing, a row listed
twice or an identity that disagrees with the folder is a one-line error naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.datasets import Carries, Dataset, DatasetError, Image, Pairs, scan
from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec
from facebench_plugins.protocols.pair_formats import read_text

MANIFEST = "manifest.csv"
SAME_PERSON = "same_person.txt"
REFERENCE = "reference"
EDITED = "edited"
FOLDER_RULE = "folder rule: the identity's original.* image, else its first file in sorted order, is the reference"

ROLES: tuple[tuple[str, str, str], ...] = (
    (r"original", REFERENCE, "original"),
    (r"non_makeup_source( \(small thumbnail\))?", REFERENCE, "original"),
    (r"input( \(non-frontal/side pose\))?", REFERENCE, "original"),
    (r"raw 112x112 sample", REFERENCE, "original"),
    (r"neutral render", REFERENCE, "original"),
    (r"hair_edited", EDITED, "hair changed"),
    (r"hair_transferred", EDITED, "hair transferred"),
    (r"hair_removed", EDITED, "hair removed"),
    (r"makeup_transferred( \(ref .+\))?", EDITED, "makeup transferred"),
    (r"makeup_transferred \(interpolation frame\)", EDITED, "makeup interpolation frame"),
    (r"(beautygan|ladn|psgan)_output", EDITED, "makeup by \\1"),
    (r"rotated output \(pose varies per frame\)", EDITED, "pose re-rendered"),
    (r"rotated-and-rendered output \(frontalized\)", EDITED, "frontalized"),
    (r"rendered view", EDITED, "rendered view"),
    (r"accessory set", EDITED, "accessories"),
    (r"hair colour/density varied", EDITED, "hair colour/density"),
    (r"hair style changed( \(.*\))?", EDITED, "hair style changed"),
    (r"\+(flip&crop|appearance|warping) aug", EDITED, "\\1 augmentation"),
    (r"edited", EDITED, "edited"),
)
"""Known manifest roles (full match, any case) -> (reference or edited, the edit named in the per-edit table)."""


@dataclass(frozen=True)
class Row:
    """One manifest row for an image of this set."""

    role: str
    identity: str
    alias: str  # folder_in_extraction: the folder it came from before a merge ("" if none)
    place: str  # manifest.csv:line


def classify(role: str, where: str) -> tuple[str, str]:
    """(reference or edited, edit label) of a manifest role; an unknown role is an error naming ``where``."""
    for pattern, kind, label in ROLES:
        found = re.fullmatch(pattern, role.strip(), re.IGNORECASE)
        if found:
            return kind, found.expand(label)
    known = ", ".join(sorted({p for p, _, _ in ROLES}))
    raise DatasetError(f"{where}: role {role!r} is not a known edit role ({known}); correct it or add it to ROLES")


def find_manifest(root: Path) -> Path | None:
    """``root/manifest.csv``, else a ``manifest.csv`` in the folder above that lists a file under ``root``."""
    if (root / MANIFEST).is_file():
        return root / MANIFEST
    above = root.parent / MANIFEST
    if above.is_file() and f"{root.name}/" in read_text(above):
        return above
    return None


def read_manifest(path: Path, root: Path) -> dict[str, Row]:
    """Image path relative to ``root`` -> its row, for the rows of ``path`` whose file lies under ``root``."""
    reader = csv.DictReader(io.StringIO(read_text(path)))
    missing = {"file", "role"} - set(reader.fieldnames or ())
    if missing:
        raise DatasetError(f"{path}: needs the columns file and role (missing: {', '.join(sorted(missing))})")
    prefix = "" if path.parent == root else f"{root.relative_to(path.parent).as_posix()}/"
    rows: dict[str, Row] = {}
    for line, raw in enumerate(reader, start=2):
        file = (raw.get("file") or "").strip()
        if not file.startswith(prefix):
            continue
        rel, where = file[len(prefix) :], f"{path}:{line}"
        if rel in rows:
            raise DatasetError(f"{where}: {file} is listed twice (first at {rows[rel].place}); keep one row")
        identity = (raw.get("identity") or "").strip()
        folder = rel.split("/", 1)[0]
        if identity and identity != folder:
            raise DatasetError(f"{where}: {file} lies in folder {folder} but is listed as identity {identity}")
        alias = (raw.get("folder_in_extraction") or "").strip()
        rows[rel] = Row((raw.get("role") or "").strip(), folder, "" if alias == folder else alias, where)
    if not rows:
        raise DatasetError(f"{path} lists no image under {root}; add its rows (file {prefix}<identity>/<image>)")
    return rows


def read_same_person(path: Path) -> list[set[str]]:
    """The groups of a same-person list: one group a line, names separated by commas or spaces, ``#`` comments."""
    groups = []
    for line, text in enumerate(read_text(path).splitlines(), start=1):
        names = set(re.split(r"[,\s]+", text.split("#", 1)[0].strip())) - {""}
        if len(names) == 1:
            raise DatasetError(f"{path}:{line}: a same-person group needs 2+ identities, got {text.strip()!r}")
        if names:
            groups.append(names)
    return groups


def persons(identities: Iterable[str], groups: Iterable[set[str]]) -> dict[str, str]:
    """Identity -> its person (the first name, sorted, of its merged group), merging overlapping groups."""
    parent = {name: name for name in identities}

    def find(name: str) -> str:
        parent.setdefault(name, name)
        while parent[name] != name:
            name = parent[name]
        return name

    for group in groups:
        first, *rest = sorted(group)
        for name in rest:
            a, b = sorted((find(first), find(name)))
            parent[b] = a
    return {name: find(name) for name in identities}


def _folder_rule(images: list[Image]) -> dict[str, str]:
    """rel -> reference/edited for one identity's images by the folder rule."""
    originals = [img.rel for img in images if Path(img.rel).stem.lower() == "original"]
    reference = originals[0] if originals else images[0].rel
    return {img.rel: REFERENCE if img.rel == reference else EDITED for img in images}


def _roles(dataset: Dataset, manifest: dict[str, Row] | None, path: Path | None) -> tuple[list[Image], list[str]]:
    """The images with ``role``, ``kind``, ``edit`` attributes, and notes on identities given the folder rule."""
    by_id: dict[str, list[Image]] = {}
    for img in dataset.images:
        by_id.setdefault(img.identity, []).append(img)
    labelled, ruled = [], []
    for identity, images in by_id.items():
        kinds = {}
        for img in images:
            if manifest is None:
                kinds[img.rel] = (EDITED, "edited", "")
                continue
            if img.rel not in manifest:
                raise DatasetError(f"{path}: lists no row for {img.rel}; add it with its role, or remove the image")
            row = manifest[img.rel]
            kinds[img.rel] = (*classify(row.role, row.place), row.role)
        if not any(kind == REFERENCE for kind, _, _ in kinds.values()):
            rule = _folder_rule(images)
            kinds = {rel: (rule[rel], "original" if rule[rel] == REFERENCE else k[1], k[2]) for rel, k in kinds.items()}
            ruled.append(identity)
        labelled += [
            dataclasses.replace(img, attrs={**img.attrs, "kind": kinds[img.rel][0], "edit": kinds[img.rel][1]})
            for img in images
        ]
    notes = (
        [f"{len(ruled)} identities have no reference role ({', '.join(ruled[:4])}...): {FOLDER_RULE}"] if ruled else []
    )
    return labelled, notes


def open_edits(root: Path, same_person: Path | None = None) -> Dataset:
    """The set at ``root`` with roles (``kind``: reference / edited, ``edit``) and ``subject`` (its person) on
    every image; the manifest's merges and the same-person lists make one person of several identities."""
    if not root.is_dir():
        raise DatasetError(f"edited set folder {root} does not exist; pass a folder of <identity>/<image>")
    dataset = scan(root)
    manifest_path = find_manifest(root)
    manifest = read_manifest(manifest_path, root) if manifest_path else None
    if manifest is not None:
        absent = sorted(set(manifest) - set(dataset.index))
        if absent:
            raise DatasetError(
                f"{manifest[absent[0]].place}: {absent[0]} is not in {root} ({len(absent)} listed files missing)"
            )
    images, notes = _roles(dataset, manifest, manifest_path)
    groups = [{row.identity, row.alias} for row in (manifest or {}).values() if row.alias]
    for file in {
        p for p in (root / SAME_PERSON, manifest_path and manifest_path.parent / SAME_PERSON, same_person) if p
    }:
        if file == same_person or file.is_file():
            groups += read_same_person(file)
    person = persons(dataset.identities(), groups)
    images = [dataclasses.replace(img, attrs={**img.attrs, "subject": person[img.identity]}) for img in images]
    source = f"roles from {manifest_path}" if manifest_path else f"no {MANIFEST}: {FOLDER_RULE}"
    return dataclasses.replace(
        dataset,
        images=images,
        description=dataset.description or source,
        notes=(*dataset.notes, source, *notes),
        carries=frozenset({Carries.IDENTITIES, Carries.PAIR_LABELS, Carries.ATTRIBUTES, Carries.ROLES}),
    )


def _candidates(dataset: Dataset, edited_vs_edited: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(genuine pairs, impostor pool): reference x edited (and edited x edited) within / across persons."""
    refs = [i for i, img in enumerate(dataset.images) if img.attrs["kind"] == REFERENCE]
    edits = [i for i, img in enumerate(dataset.images) if img.attrs["kind"] == EDITED]
    images = dataset.images

    def person(i: int) -> str:
        return images[i].attrs["subject"]

    pool = [(a, b) for a in refs for b in edits]
    if edited_vs_edited:
        pool += [(a, b) for k, a in enumerate(edits) for b in edits[k + 1 :]]
    genuine = [(a, b) for a, b in pool if images[a].identity == images[b].identity]
    impostor = [(a, b) for a, b in pool if person(a) != person(b)]
    return genuine, impostor


def edit_pairs(dataset: Dataset, seed: int = 0, edited_vs_edited: bool = False) -> Pairs:
    """Genuine pairs (reference, edited) of each identity and as many impostor pairs across persons (seeded)."""
    if Carries.ROLES not in dataset.carries:
        raise DatasetError(f"{dataset.root}: edit pairs need image roles; read the set with --protocol edits")
    genuine, pool = _candidates(dataset, edited_vs_edited)
    if not genuine or not pool:
        raise DatasetError(f"{dataset.root}: edit pairs need 2+ persons and an identity with a reference and an edit")
    notes = []
    if len(pool) < len(genuine):
        notes.append(f"only {len(pool)} impostor pairs exist for {len(genuine)} genuine: using all of them")
    impostor = sorted(random.Random(seed).sample(pool, min(len(pool), len(genuine))))
    rows = [(a, b, True) for a, b in genuine] + [(a, b, False) for a, b in impostor]
    kind = "reference x edited" + (" and edited x edited" if edited_vs_edited else "")
    return Pairs(
        np.array([r[0] for r in rows], dtype=int),
        np.array([r[1] for r in rows], dtype=int),
        np.array([r[2] for r in rows], dtype=bool),
        None,
        f"edit pairs ({kind}; impostors across persons, seed={seed})",
        tuple(notes),
    )


def pair_edits(dataset: Dataset, pairs: Pairs) -> np.ndarray:
    """The edit each pair measures: its edited image's ``edit`` ("edited x edited" for two edited images)."""
    images = dataset.images
    return np.array(
        [
            "edited x edited" if images[a].attrs["kind"] == EDITED else images[b].attrs["edit"]
            for a, b in zip(pairs.left, pairs.right)
        ]
    )


def sniff_edits(path: Path) -> bool:
    """A folder with a manifest (its own or the one above listing it) whose header has ``file`` and ``role``."""
    if not path.is_dir():
        return False
    manifest = find_manifest(path)
    if manifest is None:
        return False
    header = read_text(manifest).split("\n", 1)[0].lower().split(",")
    return {"file", "role"} <= {h.strip() for h in header}


def read_edits(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """The set at ``path`` and its edit pairs (seed 0, reference x edited)."""
    found = open_edits(path)
    return found, edit_pairs(found)


@hookimpl
def register_protocols(register: Callable[[ProtocolSpec], None]) -> None:
    """``edits``: an edited-face set with roles (manifest.csv) or the folder rule."""
    register(
        ProtocolSpec(
            "edits",
            read_edits,
            sniff_edits,
            "edited faces <identity>/<image> with roles in manifest.csv (or the folder rule: original.*, else the "
            "first file, is the reference); pairs: reference x edited, as many impostors across persons",
            needs_dataset=False,
        )
    )
