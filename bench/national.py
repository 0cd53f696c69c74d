"""A national data set for benchmarks: 290 kommuner, each one promise of 12 mixed activities.

Every promise runs three years, names 4 schools and 3 fritidsgårdar, and mixes
the pattern families of real medborgarlöften: per-term-and-school quotas,
monthly and weekly quotas, counts over a window, frequency words, vague,
conditional, event and untimed activities. The files are ordinary promise files
(``scheduler/promise_file.py``), so every tool reads them as a user's own.

    .venv/bin/python -m bench.national OUTDIR [--kommuner 290] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

LAN = [
    "Stockholm", "Uppsala", "Södermanland", "Östergötland", "Jönköping", "Kronoberg", "Kalmar", "Gotland",
    "Blekinge", "Skåne", "Halland", "Västra Götaland", "Värmland", "Örebro", "Västmanland", "Dalarna",
    "Gävleborg", "Västernorrland", "Jämtland", "Västerbotten", "Norrbotten",
]
#: (sentence, unit, entity kind or None, school_bound, weekdays, time)
ACTIVITIES = [
    ("Informationskvällar för vårdnadshavare om alkohol och narkotika, minst en gång per termin och "
     "högstadieskola.", "kommunen", "högstadieskola", True, ["tisdag", "torsdag"], "18:30"),
    ("Polisen genomför minst en oanmäld genomsökning med narkotikahund per termin och högstadieskola.",
     "polisen", "högstadieskola", True, [], None),
    ("Polisen besöker kommunens fritidsgårdar minst två gånger per termin och fritidsgård.",
     "polisen", "fritidsgård", False, ["onsdag", "fredag"], "19:00"),
    ("Mobila poliskontoret står på torget 2 gånger per månad.", "polisen", None, False, ["torsdag"], "11:00"),
    ("Fältassistenterna är ute i centrum minst en kväll per vecka. / **Socialtjänsten**",
     "socialtjänsten", None, False, ["fredag"], "20:00"),
    ("Minst sex trygghetsvandringar ska genomföras per år.", "kommunen", None, False, ["onsdag"], "18:00"),
    ("Medborgarlöftets resultat ska årligen följas upp i Trygghetsrådet.", "kommunen", None, False, [], "13:00"),
    ("Polisen ska genomföra kvartalsvisa trafikkontroller vid skolorna.", "polisen", None, False, [], None),
    ("Regelbunden kontakt mellan skolan, socialtjänsten och polisen (SSP-möten). / **Polisen och kommunen**",
     "polisen", None, False, [], None),
    ("Vid behov genomför polisen riktade kontroller vid skolornas parkeringsplatser.", "polisen", None, False, [],
     None),
    ("I samband med skolstarten delar fältassistenterna ut information om fritidsaktiviteter.",
     "socialtjänsten", None, False, [], None),
    ("Kommunen ska se över belysningen i gångtunnlarna.", "kommunen", None, False, [], None),
    ("Polisen genomför två riktade insatser mot langning varannan månad.", "polisen", None, False, ["fredag"],
     "21:00"),
    ("Skolpolisen håller minst två lektioner om nätsäkerhet per skola och läsår.", "polisen", "högstadieskola",
     True, [], "10:00"),
]


def promise(index: int, rng: random.Random) -> dict[str, object]:
    kommun = f"Exempelby {index:03d}"
    slug = f"exempelby-{index:03d}"
    lan = LAN[index % len(LAN)]
    start_year = 2025
    chosen = ACTIVITIES[:4] + rng.sample(ACTIVITIES[4:], 8)
    activities = []
    for n, (sentence, unit, kind, school_bound, weekdays, time) in enumerate(chosen):
        item: dict[str, object] = {
            "key": f"a{n:02d}",
            "title": sentence.split(",")[0].split(".")[0][:60],
            "sentence": sentence,
            "unit": unit,
        }
        if kind:
            item["entity_kind"] = kind
        if school_bound:
            item["school_bound"] = True
        if weekdays:
            item["weekdays"] = weekdays
        if time:
            item["time"] = time
            item["duration_minutes"] = 90
        activities.append(item)
    domain = f"{slug}.example.se"
    return {
        "title": f"Medborgarlöfte {kommun} {start_year}–{start_year + 2}",
        "kommun": kommun,
        "lan": lan,
        "validity": {"start": f"{start_year}-01-01", "end": f"{start_year + 2}-12-31"},
        "units": [
            {"key": "polisen", "name": f"Lokalpolisområde {kommun}", "email": f"polisen@{domain}"},
            {"key": "kommunen", "name": f"{kommun} kommun", "email": f"kommunen@{domain}"},
            {"key": "socialtjänsten", "name": f"Socialtjänsten i {kommun}", "email": f"social@{domain}",
             "part_of": "kommunen"},
        ],
        "entities": [
            *({"kind": "högstadieskola", "key": f"skola{s}", "name": f"{side}skolan"}
              for s, side in enumerate(("Norra", "Södra", "Östra", "Västra"), start=1)),
            *({"kind": "fritidsgård", "key": f"gard{g}", "name": f"Fritidsgården {g}"} for g in range(1, 4)),
        ],
        "activities": activities,
    }


def generate(outdir: Path, *, kommuner: int = 290, seed: int = 1) -> list[Path]:
    """Write one promise file per kommun into ``outdir``; returns the paths, in order."""
    rng = random.Random(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(1, kommuner + 1):
        path = outdir / f"exempelby-{index:03d}.yaml"
        path.write_text(yaml.safe_dump(promise(index, rng), allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--kommuner", type=int, default=290)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    paths = generate(args.outdir, kommuner=args.kommuner, seed=args.seed)
    print(f"{len(paths)} promise files in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
