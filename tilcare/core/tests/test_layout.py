"""Every domain folder has the same shape: its top level names layers, never prefixes.

A newcomer finds "who may release a batch" in `policies`, "what a scan writes" in `services`, and
the page in `views`, whatever the domain. A layer past about 400 lines becomes a package of the same
name with one module per sub-domain (as `identity/services/` is), so the top level stays the layer
list below. A new top-level name fails here: either it is a layer in disguise (move it into one)
or it is one of the few named documents and machinery listed with the reason it stands alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TILCARE = Path(__file__).resolve().parents[2]

LAYERS = frozenset(
    {
        "models",
        "choices",
        "services",
        "selectors",
        "policies",
        "guards",
        "forms",
        "views",
        "urls",
        "api",
        "schemas",
    }
)
# What Django and the project's own conventions put in every app.
FRAMEWORK = frozenset(
    {"__init__", "apps", "migrations", "management", "templates", "templatetags", "tests"}
)

# Named documents and importers (a label, a certificate of analysis, a CSV format) and the few
# pieces of machinery that are neither a layer nor shared by another domain, each with its reason.
NAMED: dict[str, dict[str, str]] = {
    "accounts": {
        "roles": "the one role → permission table every policy reads",
        "middleware": "the second-factor and idle-timeout gates every request passes",
        "api_auth": "how the API knows its caller (session or token), used by config.api",
    },
    "audit": {
        "actions": "the one catalogue of audit actions and their words",
        "hashing": "the canonical bytes and digests of the chain",
        "regulated": "which records the trail vouches for, by row digest",
        "checkpoints": "signed checkpoints of the chain kept outside the database",
        "triggers": "the database triggers that refuse changes to the trail",
        "checks": "the deployment checks of the trail (Django system checks)",
        "times": "how an event's moment is judged against the clock",
    },
    "calculators": {
        "definitions": "one module per calculator family, declared once",
        "registry": "the catalogue of calculators the page and the API serve",
        "working": "the worked steps a calculator shows",
    },
    "identity": {
        "labels": "the printed label (PDF and PNG with its barcodes)",
        "temperature_csv": "the shipper's temperature logger file format",
    },
    "journey": {},
    "manufacturing": {
        "coa": "the certificate of analysis (a document)",
        "reactivity_csv": "the plate reader's reactivity file format",
    },
    "monitoring": {},
    "patients": {},
    "portal": {
        "content": "the patient's reading pages, written for this project",
    },
    "treatment": {},
}


def _top_level_names(domain: str) -> set[str]:
    folder = TILCARE / domain
    names = set()
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir() or entry.suffix == ".py":
            names.add(entry.stem)
    return names


def test_every_domain_is_listed():
    # Each app folder but the kernel and the demo builder is a domain with the shape below.
    apps = {path.parent.name for path in TILCARE.glob("*/apps.py")} - {"core", "demo"}
    assert apps == set(NAMED)


@pytest.mark.parametrize("domain", sorted(NAMED))
def test_a_domain_top_level_holds_only_layers_and_its_named_documents(domain):
    unexpected = _top_level_names(domain) - LAYERS - FRAMEWORK - set(NAMED[domain])
    assert unexpected == set(), (
        f"tilcare/{domain}/ holds {sorted(unexpected)}: put each into its layer (a layer past "
        f"about 400 lines becomes a package of that name), or list it in NAMED with its reason."
    )


@pytest.mark.parametrize("domain", sorted(NAMED))
def test_a_named_document_still_exists(domain):
    missing = set(NAMED[domain]) - _top_level_names(domain)
    assert missing == set()


@pytest.mark.parametrize("domain", sorted(NAMED))
def test_a_layer_is_a_module_or_a_package_never_both(domain):
    folder = TILCARE / domain
    both = {
        layer for layer in LAYERS if (folder / f"{layer}.py").exists() and (folder / layer).is_dir()
    }
    assert both == set()
