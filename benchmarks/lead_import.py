"""Lead import speed: a realistic purchased list (1,000,000 rows by default) into a fresh SQLite store.

Prints {"rows", "seconds", "rows_per_s", "peak_rss_mb", ...}: the import runs in a child process of its own, so
peak_rss_mb (VmHWM) is the import's alone. Targets: <= 10 s and <= 500 MB for a million rows on two cores.

    .venv/bin/python benchmarks/lead_import.py [--rows N] [--keep DIR] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
]
NAMES = [
    "Александр",
    "Сергей",
    "Дмитрий",
    "Андрей",
    "Алексей",
    "Максим",
    "Евгений",
    "Иван",
    "Михаил",
    "Артём",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Анна",
    "Мария",
    "Светлана",
    "Юлия",
    "Екатерина",
]
PATRONYMICS = ["Александрович", "Сергеевич", "Дмитриевич", "Андреевич", "Иванович", "Петрович", "Николаевич"]
CITIES = [
    "Москва",
    "Санкт-Петербург",
    "Новосибирск",
    "Екатеринбург",
    "Казань",
    "Нижний Новгород",
    "Челябинск",
    "Самара",
    "Омск",
    "Ростов-на-Дону",
    "Уфа",
    "Красноярск",
    "Воронеж",
    "Пермь",
    "Волгоград",
    "Владивосток",
    "",
]
STREETS = ["ул. Ленина", "пр. Мира", "ул. Гагарина", "ул. Советская", "ул. Садовая", "Невский пр."]
FOREIGN = ["+380 67 {}", "+375 29 {}", "+49 151 {}", "+1 212 {}", "+44 7700 {}", "+998 90 {}", "+7 701 {}"]
HEADER = ["Телефон", "ФИО", "Город", "Адрес", "Email", "Согласие", "Дата согласия", "Комментарий"]  # fmt: skip


def russian_number(rng: random.Random) -> str:
    """A Russian mobile or landline in one of the shapes lists come in."""
    code = rng.choice(["9", "9", "9", "9", "495", "812", "343", "383"])
    digits = code + "".join(rng.choices("0123456789", k=10 - len(code)))
    a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
    shape = rng.randrange(7)
    return [f"+7 {a} {b} {c} {d}", f"8 ({a}) {b}-{c}-{d}", f"8{digits}", f"7{digits}", digits,
            f"+7({a}){b}-{c}-{d}", f"8-{a}-{b}-{c}{d}"][shape]  # fmt: skip


def phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.93:
        return russian_number(rng)
    if roll < 0.98:
        return rng.choice(FOREIGN).format("".join(rng.choices("0123456789", k=7)))
    return rng.choice(["", "нет", "12345", "8 (912) 345-67", "+7 000 000 00 00", "тел. 8-912-000-00-00 доб. 12"])


def row(rng: random.Random, i: int, earlier: list[str]) -> list[str]:
    number = rng.choice(earlier) if earlier and rng.random() < 0.02 else phone(rng)
    name = f"{rng.choice(SURNAMES)} {rng.choice(NAMES)} {rng.choice(PATRONYMICS)}"
    city = rng.choice(CITIES)
    address = f"{city}, {rng.choice(STREETS)}, д. {rng.randrange(1, 200)}, кв. {rng.randrange(1, 400)}"
    if rng.random() < 0.01:
        address = address.replace(", кв.", "\nкв.")  # a line break inside a quoted cell
    if rng.random() < 0.001:
        address = "x" * 600  # over the limit: rejected as too long
    consent = rng.choice(["да", "да", "да", "нет", ""])
    given = f"{rng.randrange(1, 28):02d}.{rng.randrange(1, 13):02d}.2024" if consent == "да" else ""
    comment = rng.choice(["", "", "перезвонить вечером", '=HYPERLINK("x")', f"заявка {i}"])
    return [number, name, city, address, f"user{i}@example.ru", consent, given, comment]


def generate(path: Path, rows: int, seed: int = 1) -> None:
    import csv

    rng = random.Random(seed)
    earlier: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            values = row(rng, i, earlier)
            if i % 1000 == 0:
                earlier.append(values[0])
            writer.writerow(values)


def child(path: Path, url: str) -> None:
    """The measured part: a fresh store, then the import; prints the figures."""
    from switchboard.leads.importer import ImportOptions, import_leads
    from switchboard.store.calls import make_engine
    from switchboard.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    load_before = os.getloadavg()[0]
    user_before, sys_before = _cpu_s()
    started = time.perf_counter()
    report = import_leads(engine, path, ImportOptions(campaign="Benchmark", list_name=path.name))
    seconds = time.perf_counter() - started
    user, system = _cpu_s()
    user, system = user - user_before, system - sys_before
    counts = report.as_json()
    figures = {
        "rows": counts["rows"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(counts["rows"] / seconds),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "imported": counts["imported"],
        "rejected": counts["rejected"],
        "duplicates": counts["duplicates"],
        "file_mb": round(path.stat().st_size / 1e6, 1),
        # The machine may be shared: CPU seconds (every thread) and the load before the run say how busy it was.
        "cpu_s": round(user + system, 2),
        "cpu_user_s": round(user, 2),
        "cpu_sys_s": round(system, 2),
        "load_avg_1min": round(load_before, 2),
    }
    print(json.dumps(figures))


def _cpu_s() -> tuple[float, float]:
    """User and system CPU seconds of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the file and the database in this folder.")
    parser.add_argument("--db", default=None, help="Store URL (default: a new SQLite file in the folder).")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    with tempfile.TemporaryDirectory(prefix="lead-bench-") as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"leads_{args.rows}.csv"
        if not path.exists():
            generate(path, args.rows)
        url = args.db or f"sqlite:///{folder / 'bench.db'}"
        for suffix in ("", "-wal", "-shm"):
            (folder / f"bench.db{suffix}").unlink(missing_ok=True)
        done = subprocess.run([sys.executable, __file__, "--child", str(path), url], check=False)
        sys.exit(done.returncode)


if __name__ == "__main__":
    main()
