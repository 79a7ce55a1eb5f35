"""Generated posts about the bundled watch list's brands, with known duplicates: for the benchmark and tests.

Each original is a sentence built from a shuffled vocabulary, so two
originals share almost no three-word run; its copies are reposts ("RT @x:"),
cross-posts with a link and a hashtag added, or copy-paste campaign texts
with one word changed, and the truth of which is a copy of which is kept.
Some posts name no watched brand, and some come twice with the same id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from veille_contracts.models import SourceKind
from veille_ingest.pipeline import RawItem

BRANDS = ("Banque Aurore", "Fibrelia", "Maison Brise", "Vélo Lumen", "Kestrel", "Nordline")
VOCABULARY = [
    "service",
    "client",
    "attente",
    "réponse",
    "appli",
    "carte",
    "virement",
    "frais",
    "agence",
    "conseiller",
    "remboursement",
    "commande",
    "livraison",
    "colis",
    "retard",
    "panne",
    "réseau",
    "fibre",
    "box",
    "technicien",
    "rendez-vous",
    "facture",
    "tarif",
    "hausse",
    "contrat",
    "résiliation",
    "offre",
    "vélo",
    "batterie",
    "cadre",
    "garantie",
    "atelier",
    "pièce",
    "électricité",
    "compteur",
    "relevé",
    "mensualité",
    "application",
    "mise",
    "à",
    "jour",
    "bug",
    "connexion",
    "mot",
    "de",
    "passe",
    "sécurité",
    "fraude",
    "plafond",
    "paiement",
    "sans",
    "contact",
    "découvert",
    "prêt",
    "taux",
    "assurance",
    "sinistre",
    "customer",
    "support",
    "waiting",
    "answer",
    "app",
    "card",
    "transfer",
    "fees",
    "branch",
    "advisor",
    "refund",
    "order",
    "delivery",
    "parcel",
    "delay",
    "outage",
    "network",
    "fiber",
    "router",
    "technician",
    "appointment",
    "invoice",
    "price",
    "increase",
    "contract",
    "cancel",
    "offer",
    "bike",
    "battery",
    "frame",
    "warranty",
    "repair",
    "part",
    "power",
    "meter",
    "reading",
    "monthly",
    "update",
    "glitch",
    "login",
    "password",
    "security",
    "fraud",
    "limit",
    "payment",
    "contactless",
    "overdraft",
    "loan",
    "rate",
    "insurance",
    "claim",
    "toujours",
    "encore",
    "jamais",
    "vraiment",
    "très",
    "trop",
    "assez",
    "always",
    "still",
    "never",
    "really",
    "very",
    "too",
    "quite",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "monday",
    "tuesday",
    "friday",
    "weekend",
]
OFF_TOPIC = ("Belle aurore boréale ce matin", "Le lever de soleil sur la baie", "Nice weather for a ride today")


@dataclass
class GeneratedStream:
    items: list[RawItem]
    copy_of: dict[str, str] = field(default_factory=dict)  # item id → the id of its original
    same_id_repeats: int = 0
    off_topic: int = 0


def sentence(rng: random.Random, brand: str) -> str:
    """Fourteen shuffled words of the vocabulary and a brand: no two share a three-word run, almost."""
    words = rng.sample(VOCABULARY, 14)
    words.insert(rng.randrange(4, 10), brand)
    return " ".join(words).capitalize() + rng.choice((".", " !", " ?", "…"))


def _copy(rng: random.Random, text: str) -> str:
    style = rng.randrange(3)
    if style == 0:
        return f"RT @relais{rng.randrange(1000)}: {text}"
    if style == 1:
        return f"{text} https://news.example/a/{rng.randrange(10**6)} #{rng.choice(('alerte', 'info', 'warning'))}"
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(VOCABULARY)
    return " ".join(words)


def generate(count: int, seed: int = 3, copy_share: float = 0.15, repeat_share: float = 0.03) -> GeneratedStream:
    """`count` items: originals, copies of earlier originals, same-id repeats and off-topic posts."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    stream = GeneratedStream([])
    originals: list[RawItem] = []
    for index in range(count):
        at = start + timedelta(seconds=index * 3)
        roll = rng.random()
        if originals and roll < repeat_share:
            stream.items.append(rng.choice(originals))
            stream.same_id_repeats += 1
            continue
        item_id = f"post-{seed}-{index}"
        if originals and roll < repeat_share + copy_share:
            original = rng.choice(originals)
            text = _copy(rng, original.text)
            stream.copy_of[item_id] = original.item_id
        elif roll > 0.98:
            text = rng.choice(OFF_TOPIC) + f" ({index})"
            stream.off_topic += 1
        else:
            text = sentence(rng, rng.choice(BRANDS))
        item = RawItem(
            source_kind=SourceKind.FILE,
            source="generated",
            item_id=item_id,
            text=text,
            published_at=at,
            author_id=f"author-{rng.randrange(count // 4 + 1)}",
            followers=int(rng.paretovariate(1.2) * 50),
            engagement=float(rng.randrange(20)),
        )
        stream.items.append(item)
        if item_id not in stream.copy_of and roll <= 0.98:
            originals.append(item)
    return stream


def as_json(item: RawItem) -> dict[str, object]:
    """An item as a line of a JSONL file that `veille ingest file` reads."""
    return {
        "id": item.item_id,
        "text": item.text,
        "published_at": item.published_at.isoformat(),
        "author": item.author_id,
        "followers": item.followers,
        "engagement": item.engagement,
        "source": item.source,
    }
