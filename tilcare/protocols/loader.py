"""The protocol files shipped in `tilcare/protocols/data/`, read, validated and cached.

Each file is named `<id>_<version>.toml` (e.g. `lifileucel_us_2024.toml` holds id
"lifileucel_us", version "2024"); a file whose `id` or `version` disagrees with its name is
refused, so a copied file cannot pass for another protocol or version. Files are read with
importlib.resources and tomllib and validated by `tilcare.protocols.schema.parse_protocol`.
Results are cached: the files are package data and do not change while the process runs.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.protocols.reader import ProtocolError
from tilcare.protocols.schema import VERSION, Protocol, parse_protocol

DATA_PACKAGE = "tilcare.protocols"
DATA_FOLDER = "data"
SUFFIX = ".toml"


class ProtocolNotFound(LookupError):
    """No shipped protocol has the requested id (and version)."""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _split_name(file_name: str) -> tuple[str, str]:
    stem = file_name.removesuffix(SUFFIX)
    protocol_id, _, version = stem.rpartition("_")
    if not protocol_id or not VERSION.match(version):
        raise ProtocolError(
            file_name, "a protocol file is named <id>_<version>.toml, e.g. lifileucel_us_2024.toml"
        )
    return protocol_id, version


def parse_file(file_name: str, text: str) -> Protocol:
    """Parse one file's text; refuse it when its id/version disagree with its name."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(file_name, f"not valid TOML: {error}") from None
    try:
        protocol = parse_protocol(data)
    except ProtocolError as error:
        raise ProtocolError(f"{file_name}: {error.path}", error.problem) from None
    expected = _split_name(file_name)
    if (protocol.protocol_id, protocol.version) != expected:
        raise ProtocolError(
            file_name,
            f"the file holds id “{protocol.protocol_id}” version “{protocol.version}”, but its "
            f"name says id “{expected[0]}” version “{expected[1]}”",
        )
    return protocol


@functools.cache
def _files() -> dict[tuple[str, str], str]:
    folder = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)
    found: dict[tuple[str, str], str] = {}
    for entry in folder.iterdir():
        if entry.is_file() and entry.name.endswith(SUFFIX):
            found[_split_name(entry.name)] = entry.name
    return found


@functools.cache
def _load(file_name: str) -> Protocol:
    folder = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)
    return parse_file(file_name, folder.joinpath(file_name).read_text(encoding="utf-8"))


def available_protocols() -> tuple[ProtocolRef, ...]:
    """Every shipped protocol id and version, sorted by id then version."""
    refs = (ProtocolRef(protocol_id, version) for protocol_id, version in _files())
    return tuple(sorted(refs, key=lambda r: (r.protocol_id, _version_key(r.version))))


def load_protocol(protocol_id: str, version: str | None = None) -> Protocol:
    """The protocol with this id, at `version` or, when None, its latest version."""
    versions = [ref.version for ref in available_protocols() if ref.protocol_id == protocol_id]
    if not versions:
        known = ", ".join(sorted({ref.protocol_id for ref in available_protocols()}))
        raise ProtocolNotFound(f"No protocol “{protocol_id}”; available: {known}.")
    if version is None:
        version = max(versions, key=_version_key)
    elif version not in versions:
        raise ProtocolNotFound(
            f"Protocol “{protocol_id}” has no version “{version}”; available: "
            f"{', '.join(sorted(versions, key=_version_key))}."
        )
    return _load(_files()[(protocol_id, version)])
