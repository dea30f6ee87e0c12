"""`kb analyze`: turn crawled text into knowledge (people, works, ...).

Runs after every crawl and on demand; each step reads the documents and
writes its own tables through kb.storage, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import storage
from .people import DEFAULT_PEOPLE_FILE, load_people
from .works import group_copies


@dataclass
class AnalyzeReport:
    people: int
    works: int
    republished: int  # works with more than one copy

    def summary(self) -> str:
        return f"analyzed: {self.people} people, {self.works} works ({self.republished} published more than once)"


def analyze(db_path: str | Path, people_path: str | Path = DEFAULT_PEOPLE_FILE) -> AnalyzeReport:
    people = load_people(people_path)  # PeopleError before anything is written
    db = storage.open_db(db_path)
    try:
        storage.save_people(db, people)
        documents = db.execute("select id, text from documents where status = 'ok'").fetchall()
        groups = group_copies(documents)
        storage.save_works(db, groups)
        return AnalyzeReport(
            people=db["people"].count, works=len(groups), republished=sum(len(g) > 1 for g in groups)
        )
    finally:
        db.close()
