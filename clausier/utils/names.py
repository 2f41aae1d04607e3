"""Normalized identities: what makes "Éloïse DUPONT-MARTIN" and "eloise dupont martin" the same name."""

import re

from unidecode import unidecode

PARTICLES = {"de", "du", "des", "la", "le", "d", "l", "van", "von", "der", "den", "di", "da", "del"}


def normalize_part(value: str) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+", unidecode(value or "").lower()) if w]
    # A name made of particles only ("Le", "Da", "Du", "Van") keeps them: it would otherwise vanish.
    return " ".join([w for w in words if w not in PARTICLES] or words)


def normalize_name(first_name: str, last_name: str) -> str:
    return f"{normalize_part(last_name)}|{normalize_part(first_name)}"


def searchable(text: str) -> str:
    """Words to search in, as one lower-case ASCII string starting with a space: "Maçon / Maçonne" →
    " macon maconne", so that `contains(" " + searchable(word).strip())` finds words by their beginning."""
    return "".join(f" {word}" for word in re.findall(r"[a-z0-9]+", unidecode(text or "").lower()))
