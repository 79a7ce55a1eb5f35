"""The demo's bundled stream: six weeks of Kestrel Mobile, told by its staff and its customers.

Everything here is invented and written for veille. The story follows the
premise: the shop and call-centre staff complain of workload first (weeks 2
and 3), answers then slow down and customers grow disappointed (weeks 3 and
4), a complaint wave breaks on one afternoon, customers announce they are
leaving (week 5), and one well-followed customer's post is copied everywhere
(week 6). Around it, ordinary days: neutral questions, thanks, other brands.
Sentences are assembled from hand-written parts, so no two posts are copies
unless the story says so, and the same seed gives the same stream.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEKS = 6
BRAND = "Kestrel Mobile"

EMPLOYEE_FR = (
    ("En boutique chez Kestrel Mobile,", "Au centre d'appels de Kestrel,", "Chez Kestrel Mobile côté conseillers,",
     "Troisième mois chez Kestrel en boutique et", "Encore une semaine chez Kestrel Mobile où"),
    ("on enchaîne les appels sans pause depuis des semaines", "les objectifs ont doublé sans personne en plus",
     "deux collègues sont partis et ne sont pas remplacés", "le manager nous met la pression toute la journée",
     "les plannings changent la veille pour le lendemain"),
    ("et personne à la direction ne nous écoute.", "je suis épuisée, je cherche ailleurs.",
     "la charge de travail devient intenable.", "l'ambiance est devenue toxique.",
     "on craque les uns après les autres."),
)  # fmt: skip
EMPLOYEE_EN = (
    ("Working the Kestrel Mobile call centre,", "As a Kestrel store advisor,", "Another week at Kestrel Mobile and",
     "Kestrel support team here:"),
    ("we take back-to-back calls with no breaks", "targets went up again with fewer people",
     "half my team quit this month", "management only talks about call times"),
    ("and nobody listens to us.", "I am burnt out and looking for another job.", "the workload is unbearable.",
     "morale has never been this low."),
)  # fmt: skip
EMPLOYEE_CALM = (
    "Formation sérieuse chez Kestrel Mobile, des collègues solidaires et des horaires respectés.",
    "Kestrel recrute des conseillers en boutique à Nantes, belle équipe.",
    "Good onboarding at Kestrel Mobile, helpful team leads.",
)
WAITING_FR = (
    ("Ça fait", "Cela fait maintenant", "Voilà", "Toujours rien après"),
    ("trois jours", "une semaine", "dix jours", "deux semaines", "45 minutes d'attente au 3900"),
    ("que j'attends une réponse de Kestrel Mobile", "que le service client de Kestrel ne répond pas",
     "que Kestrel Mobile ne rappelle pas", "que mon dossier est bloqué chez Kestrel"),
    ("pour une facture fausse, je suis très déçue.", "au sujet de ma ligne coupée, quelle déception.",
     "alors que mon forfait ne marche plus.", "et on me promet toujours un rappel qui ne vient jamais."),
)  # fmt: skip
WAITING_EN = (
    ("Still waiting", "Three days waiting", "A full week waiting", "Over an hour on hold"),
    ("for Kestrel Mobile support to answer", "for Kestrel to fix my billing", "for a callback from Kestrel Mobile"),
    ("about a wrong bill, so disappointed.", "while my line is still down.", "and the chat just closes on me."),
)  # fmt: skip
CHURN_FR = (
    ("C'est fini avec Kestrel Mobile :", "J'en ai assez de Kestrel,", "Après huit ans chez Kestrel Mobile,",
     "Kestrel Mobile, vous venez de perdre un client :"),
    ("je porte mon numéro chez un autre opérateur dès demain.", "je résilie mon forfait cette semaine.",
     "j'ai déjà signé ailleurs, je pars.", "je change d'opérateur, c'est décidé."),
)  # fmt: skip
CHURN_EN = (
    ("Done with Kestrel Mobile:", "After six years with Kestrel,", "Kestrel Mobile just lost a customer:"),
    ("I am porting my number to another carrier tomorrow.", "cancelling my contract this week.",
     "already signed with a competitor, I am leaving."),
)  # fmt: skip
VIRAL = (
    "Dix jours sans ligne, six appels, zéro solution : Kestrel Mobile traite ses clients comme ses conseillers, "
    "mal. Je pars et je ne suis pas le seul."
)
BACKGROUND = (
    ("Quelqu'un sait si", "Petite question :", "Question pour les habitués :", "Dites-moi,"),
    ("Kestrel Mobile propose la 5G à Rennes", "Banque Aurore rembourse les frais à l'étranger",
     "Fibrelia installe la fibre le samedi", "Maison Brise livre en point relais", "Nordline Energy a une offre verte",
     "Vélo Lumen répare les vélos d'autres marques", "la boutique Kestrel de Lille ouvre le dimanche",
     "Orchard Bank has a student account", "Kestrel Mobile offers eSIM for tablets"),
    ("?", "? Merci d'avance.", "? Je n'ai rien trouvé sur leur site.", "? Bonne journée à tous.",
     "? Thanks in advance."),
)  # fmt: skip
PRAISE = (
    ("Merci à", "Bravo à", "Un grand merci à", "Shout-out to"),
    ("l'équipe Kestrel Mobile de Bordeaux", "Banque Aurore", "Fibrelia", "Maison Brise", "Vélo Lumen",
     "the Kestrel Mobile store in Nantes"),
    ("pour l'accueil ce matin.", "pour la réponse rapide.", "pour le suivi impeccable.",
     "for sorting it out in minutes."),
)  # fmt: skip


@dataclass(frozen=True)
class StoryPost:
    id: str
    text: str
    published_at: datetime
    author: str
    followers: int
    lang: str
    source: str

    def as_json(self) -> dict[str, object]:
        """A line of a JSONL file that `veille ingest file` reads."""
        return {
            "id": self.id, "text": self.text, "published_at": self.published_at.isoformat(), "author": self.author,
            "followers": self.followers, "lang": self.lang, "source": self.source,
        }  # fmt: skip


CITIES = ("Lyon", "Nantes", "Lille", "Rennes", "Bordeaux", "Metz", "Dijon", "Brest", "Leeds", "Bristol", "Toulouse")
# the asides people put between the parts of what they write, by language
ASIDES = {
    "fr": ("franchement", "honnêtement", "encore une fois", "comme d'habitude", "bref", "sérieusement", "—", "…"),
    "en": ("honestly", "again", "seriously", "as usual", "frankly", "—", "…"),
}
DETAILS = {
    "fr": ("Dossier n°{n}.", "Client depuis {year}.", "Ligne ouverte en {year}, dossier {n}.", "Ticket {n} ouvert."),
    "en": ("Case {n}.", "Customer since {year}.", "Ref {n}, still open.", "Ticket {n}."),
}


def _pick(rng: random.Random, parts: tuple[tuple[str, ...], ...], lang: str | None = None) -> str:
    """A sentence from one option per part. With a language, a personal post: where the author writes from,
    asides between the parts and a detail of their own, as real posts have, so two people's posts are not
    copies of each other."""
    chosen = [rng.choice(options) for options in parts]
    if lang is None:
        return " ".join(chosen)
    sentence = chosen[0] + "".join(f" {rng.choice(ASIDES[lang])} {part}" for part in chosen[1:])
    detail = rng.choice(DETAILS[lang]).format(n=rng.randint(10_000, 99_999), year=rng.randint(2009, 2024))
    return f"{rng.choice(CITIES)}, {rng.randint(7, 23)}h{rng.randint(10, 59)} : {sentence} {detail}"


def story(end: datetime, seed: int = 42) -> Iterator[StoryPost]:
    """The stream, oldest first, ending at `end`."""
    rng = random.Random(seed)
    start = (end - timedelta(weeks=WEEKS)).replace(minute=0, second=0, microsecond=0)
    posts: list[StoryPost] = []
    used: set[str] = set()

    def add(text: str, at: datetime, author: str, followers: int, *, lang: str, source: str = "social") -> None:
        if text in used and source != "repost":
            return  # the story never repeats a sentence by accident
        used.add(text)
        posts.append(StoryPost(f"story-{len(posts):05d}", text, at, author, followers, lang, source))

    def when(day: float, hours: tuple[int, int] = (8, 21)) -> datetime:
        return start + timedelta(days=int(day), hours=rng.randint(*hours), minutes=rng.randint(0, 59))

    for day in range(WEEKS * 7):
        for _ in range(rng.randint(8, 12)):  # ordinary days: questions and thanks
            add(_pick(rng, rng.choice((BACKGROUND, PRAISE))), when(day), f"user-{rng.randint(1, 900)}",
                rng.randint(20, 3000), lang="fr", source="forum")  # fmt: skip
        week = day // 7
        employees = 3 if week in (1, 2) else 1 if week >= 3 else 0
        for _ in range(employees):  # staff voice turns sour first
            english = rng.random() < 0.3
            lang = "en" if english else "fr"
            add(_pick(rng, EMPLOYEE_EN if english else EMPLOYEE_FR, lang), when(day, (18, 23)),
                f"staff-{rng.randint(1, 60)}", rng.randint(30, 400), lang=lang,
                source="reviews")  # fmt: skip
        if week == 0 and day % 2 == 0:
            add(rng.choice(EMPLOYEE_CALM), when(day), f"staff-{rng.randint(1, 60)}", 80, lang="fr", source="reviews")
        waiting = {2: 2, 3: 5, 4: 7, 5: 6}.get(week, 0)
        for _ in range(waiting):  # then customers wait and grow disappointed
            english = rng.random() < 0.3
            lang = "en" if english else "fr"
            add(_pick(rng, WAITING_EN if english else WAITING_FR, lang), when(day), f"client-{rng.randint(1, 5000)}",
                rng.randint(30, 2000), lang=lang)  # fmt: skip
        if week >= 4:  # and announce they leave
            for _ in range(rng.randint(1, 3) if week == 4 else rng.randint(3, 6)):
                english = rng.random() < 0.3
                lang = "en" if english else "fr"
                add(_pick(rng, CHURN_EN if english else CHURN_FR, lang), when(day), f"client-{rng.randint(1, 5000)}",
                    rng.randint(30, 2000), lang=lang)  # fmt: skip
    wave = start + timedelta(days=31, hours=14)  # one afternoon, the complaints break as a wave
    for minute in range(0, 120, 3):
        english = rng.random() < 0.3
        lang = "en" if english else "fr"
        at = wave + timedelta(minutes=minute + rng.randint(0, 2))
        add(_pick(rng, WAITING_EN if english else WAITING_FR, lang), at, f"client-{rng.randint(1, 5000)}",
            rng.randint(30, 2000), lang=lang)  # fmt: skip
    viral_at = start + timedelta(days=38, hours=11)
    add(VIRAL, viral_at, "la-voix-des-abonnes", 240_000, lang="fr")
    for copy in range(30):  # then everybody reposts it
        add(f"RT @lavoixdesabonnes: {VIRAL}", viral_at + timedelta(minutes=5 + copy * 7), f"relay-{copy}",
            rng.randint(50, 5000), lang="fr", source="repost")  # fmt: skip
    yield from sorted(posts, key=lambda p: (p.published_at, p.id))
