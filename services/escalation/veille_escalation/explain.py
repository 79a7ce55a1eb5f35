"""Why an alert fired, in words a support agent understands, in English and French.

Every explanation names what was seen (the current value), against what (the
baseline it broke), how far reaching (the authors' followers) and, for spikes,
where it seems to come from: aspects, terms, sources and the flag-bearers.
"""

from __future__ import annotations

from veille_contracts.models import AlertKind, Explanation
from veille_escalation.findings import Finding

_SCOPE_EN = {"volume": "mentions", "negative": "negative mentions"}
_SCOPE_FR = {"volume": "mentions", "negative": "mentions négatives"}


def _n(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _followers(finding: Finding) -> float:
    return float(sum({e.author_id: e.followers for e in finding.evidence}.values()))


def _quote(finding: Finding) -> str:
    text = finding.evidence[0].text.strip().replace("\n", " ")
    return f"“{text[:157]}…”" if len(text) > 160 else f"“{text}”"


def explain(finding: Finding) -> Explanation:
    en, fr = _TEXTS[finding.kind](finding)
    numbers = {
        **finding.numbers,
        "evidence_posts": float(len(finding.evidence)),
        "reach_followers": _followers(finding),
    }
    return Explanation(text_en=en, text_fr=fr, numbers=numbers)


def _spike(f: Finding) -> tuple[str, str]:
    n = f.numbers
    scope = f.about.removeprefix("aspect:")
    what_en = _SCOPE_EN.get(f.about, f"negative mentions about {scope}")
    what_fr = _SCOPE_FR.get(f.about, f"mentions négatives sur « {scope} »")
    en = (
        f"{_n(n['current'])} {what_en} of {f.brand} in the last hour, against a usual {_n(n['baseline_median'])} "
        f"at this time of day ({_n(n['ratio'])}× the baseline, threshold {_n(n['threshold'])})."
    )
    fr = (
        f"{_n(n['current'])} {what_fr} de {f.brand} dans la dernière heure, contre {_n(n['baseline_median'])} "
        f"d'habitude à cette heure ({_n(n['ratio'])}× la référence, seuil {_n(n['threshold'])})."
    )
    origin = f.origin
    parts_en, parts_fr = [], []
    if origin.get("aspects"):
        parts_en.append("about " + ", ".join(origin["aspects"]))
        parts_fr.append("sur " + ", ".join(origin["aspects"]))
    if origin.get("terms"):
        words = ", ".join(f"“{t}”" for t in origin["terms"])
        parts_en.append(f"words {words}")
        parts_fr.append(f"mots {words}")
    if origin.get("sources"):
        parts_en.append("mostly from " + ", ".join(origin["sources"]))
        parts_fr.append("surtout depuis " + ", ".join(origin["sources"]))
    if parts_en:
        en += " Over-represented: " + "; ".join(parts_en) + "."
        fr += " Sur-représentés : " + " ; ".join(parts_fr) + "."
    bearers = len(origin.get("flag_bearers", []))
    en += f" Carried by {bearers} leading author(s) reaching {_n(_followers(f))} followers. Top post: {_quote(f)}"
    fr += f" Porté par {bearers} auteur(s) en tête, {_n(_followers(f))} abonnés au total. Post principal : {_quote(f)}"
    return en, fr


def _churn(f: Finding) -> tuple[str, str]:
    p = f.numbers.get("churn_intent", 0.0)
    followers = _n(_followers(f))
    en = (
        f"A {f.brand} customer says they are leaving (churn intent {p:.0%}), "
        f"{followers} followers. Reach out before they do: {_quote(f)}"
    )
    fr = (
        f"Un client de {f.brand} annonce son départ (intention de partir {p:.0%}), "
        f"{followers} abonnés. À contacter avant qu'il ne parte : {_quote(f)}"
    )
    return en, fr


def _influential(f: Finding) -> tuple[str, str]:
    followers = _n(_followers(f))
    en = (
        f"An influential author ({followers} followers) is unhappy with {f.brand} "
        f"(negative {f.numbers.get('negative', 0):.0%}, disappointment {f.numbers.get('disappointment', 0):.0%}): "
        f"{_quote(f)}"
    )
    fr = (
        f"Un auteur influent ({followers} abonnés) est mécontent de {f.brand} "
        f"(négatif {f.numbers.get('negative', 0):.0%}, déception {f.numbers.get('disappointment', 0):.0%}) : "
        f"{_quote(f)}"
    )
    return en, fr


def _drift(f: Finding) -> tuple[str, str]:
    was, now = f.numbers["tone_before"], f.numbers["tone_now"]
    if f.scope.startswith("author:"):
        en = (
            f"A {f.brand} customer who used to be positive (tone {was:+.2f}) has turned "
            f"{'negative' if now < -0.2 else 'lukewarm'} this past week (tone {now:+.2f}). "
            f"Harshest recent post: {_quote(f)}"
        )
        fr = (
            f"Un client de {f.brand} autrefois positif (ton {was:+.2f}) est devenu "
            f"{'négatif' if now < -0.2 else 'tiède'} cette dernière semaine (ton {now:+.2f}). "
            f"Post récent le plus dur : {_quote(f)}"
        )
        return en, fr
    en = (
        f"The tone of {f.brand}'s customers slid from {was:+.2f} over the previous three weeks to {now:+.2f} "
        f"this week ({_n(f.numbers['posts_now'])} posts). Harshest post: {_quote(f)}"
    )
    fr = (
        f"Le ton des clients de {f.brand} a glissé de {was:+.2f} sur les trois semaines précédentes à {now:+.2f} "
        f"cette semaine ({_n(f.numbers['posts_now'])} posts). Post le plus dur : {_quote(f)}"
    )
    return en, fr


def _employer(f: Finding) -> tuple[str, str]:
    n = f.numbers
    aspects = ", ".join(f.origin.get("aspects", [])) or "—"
    en = (
        f"Employees and candidates of {f.brand} are turning sour: {n['negative_share_now']:.0%} of their posts "
        f"were negative this week against {n['negative_share_before']:.0%} over the four weeks before "
        f"({_n(n['negative_posts_now'])} negative posts). Themes: {aspects}. Example: {_quote(f)}"
    )
    fr = (
        f"Le climat se dégrade chez les salariés et candidats de {f.brand} : {n['negative_share_now']:.0%} de "
        f"posts négatifs cette semaine contre {n['negative_share_before']:.0%} les quatre semaines d'avant "
        f"({_n(n['negative_posts_now'])} posts négatifs). Thèmes : {aspects}. Exemple : {_quote(f)}"
    )
    return en, fr


def _advocate(f: Finding) -> tuple[str, str]:
    followers = _n(_followers(f))
    en = f"An enthusiastic {f.brand} customer with {followers} followers: thank them and share it. {_quote(f)}"
    fr = f"Un client enthousiaste de {f.brand}, {followers} abonnés : à remercier et à relayer. {_quote(f)}"
    return en, fr


_TEXTS = {
    AlertKind.SPIKE: _spike,
    AlertKind.CHURN_RISK: _churn,
    AlertKind.INFLUENTIAL_AUTHOR: _influential,
    AlertKind.DRIFT: _drift,
    AlertKind.EMPLOYER_BRAND: _employer,
    AlertKind.ADVOCATE: _advocate,
}
