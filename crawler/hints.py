"""Sitemap and feed dates are trusted only while they prove true.

A date older than our copy lets a re-crawl skip the request. Some sites
re-publish every page and leave the old <lastmod> in their sitemap; trusting
it blindly keeps stale text for a month (until KB_REVISIT_AFTER_DAYS). So,
per source and per run, the first page a date would skip, and every
KB_HINT_CHECK_EVERY-th after it, is requested anyway (conditionally: a 304
when nothing changed), and the pages the date skips meanwhile wait for the
answer. A check that finds the page changed (or gone) ends the trust: the
waiting pages and every later one are fetched. Pages released before a check
failed stay skipped for this run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HintTrust:
    """One source's sitemap and feed dates during one run."""

    check_every: int
    trusted: bool = True
    hinted: int = 0  # pages a date called unchanged
    checked: int = 0  # of them requested to see
    contradicted: int = 0  # checks that found the page changed or gone
    pending: int = 0  # checks sent, not answered
    waiting: list[str] = field(default_factory=list)  # pages skipped by date, waiting for the checks

    def decide(self) -> str:
        """For a page a date calls unchanged: "fetch" (dates not trusted), "check", "wait" or "skip"."""
        if not self.trusted:
            return "fetch"
        self.hinted += 1
        if self.check_every and (self.hinted - 1) % self.check_every == 0:
            self.pending += 1
            self.checked += 1
            return "check"
        return "wait" if self.pending else "skip"

    def answer(self, changed: bool | None) -> tuple[str, list[str]]:
        """A check's answer (None: it failed, no verdict); what to do with the pages released now:
        ("skip", urls) or ("fetch", urls)."""
        self.pending = max(0, self.pending - 1)
        if changed:
            self.contradicted += 1
            self.trusted = False
        if not self.trusted:
            released, self.waiting = self.waiting, []
            return "fetch", released
        if self.pending:
            return "skip", []
        released, self.waiting = self.waiting, []
        return "skip", released

    def counts(self) -> dict[str, int]:
        """What crawl_runs.per_source records for the source."""
        return {
            "hinted unchanged": self.hinted,
            "hints checked": self.checked,
            "hints contradicted": self.contradicted,
        }
