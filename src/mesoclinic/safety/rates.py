"""Side-effect rates per 100 sessions, by product, lot, protocol, practitioner and term.

The unit is the *session*: the denominator is the number of signed sessions (current
revisions) given in the period, the numerator the number of those sessions that at least
one recorded side effect followed. A rate is therefore a proportion (at most 100 per 100
sessions), and binomial intervals apply (``safety/stats.py``: Wilson for display, exact
Clopper-Pearson alongside). A session counts for each product and lot it used, its
protocol and its practitioner; for the "by term" table, a session counts for each term
that followed it.

A lot is highlighted when its rate is clearly above the rest of the same product's
sessions: a one-sided Fisher exact test of the lot against the product's other sessions,
at 5 % divided by the number of that product's lots compared (Bonferroni). A practitioner
is compared the same way with the other practitioners' sessions. Observational counts:
a highlight is a prompt to look, not a verdict.

Four grouped queries whatever the number of sessions: the period, practitioners and
protocols together (their counts add up), products, lots, and terms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from mesoclinic.accounts.access import Workspace
from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.core.audit import audit_record
from mesoclinic.safety import catalogue, stats
from mesoclinic.safety.models import AdverseEventVisit, Relation
from mesoclinic.treatments.models import TreatmentSession

# The relations that count as "possibly related or more" for the filter.
RELATED = (Relation.POSSIBLE, Relation.PROBABLE, Relation.CERTAIN)
ALPHA = 0.05


@dataclass(frozen=True)
class RatesQuery:
    start: dt.date
    end: dt.date
    clinic: Clinic | None = None
    related_only: bool = False


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    rate: stats.Rate
    # Against the rest of its group (lots of one product; other practitioners).
    comparison: stats.Comparison | None = None
    group: str = ""

    @property
    def highlight(self) -> bool:
        return self.comparison is not None and self.comparison.above


@dataclass(frozen=True)
class RatesReport:
    query: RatesQuery
    overall: stats.Rate
    events: int
    by_product: list[RateRow]
    by_lot: list[RateRow]
    by_protocol: list[RateRow]
    by_practitioner: list[RateRow]
    by_term: list[RateRow]

    def tables(self) -> list[tuple[str, str, list[RateRow]]]:
        return [
            ("product", "Product", self.by_product),
            ("lot", "Lot", self.by_lot),
            ("protocol", "Protocol", self.by_protocol),
            ("practitioner", "Practitioner", self.by_practitioner),
            ("term", "Side effect", self.by_term),
        ]


def _sessions(organisation: Organisation, query: RatesQuery) -> QuerySet[TreatmentSession]:
    sessions = TreatmentSession.objects.in_force().filter(
        organisation=organisation,
        performed_on__gte=query.start,
        performed_on__lte=query.end,
    )
    if query.clinic is not None:
        sessions = sessions.filter(clinic=query.clinic)
    return sessions


def _links(organisation: Organisation, query: RatesQuery) -> QuerySet[AdverseEventVisit]:
    links = AdverseEventVisit.objects.filter(organisation=organisation)
    if query.related_only:
        links = links.filter(event__relation__in=RELATED)
    return links


def _followed(organisation: Organisation, query: RatesQuery) -> Q:
    """Sessions whose visit a side effect followed. An uncorrelated ``IN (subquery)``: the
    databases build the (small) set of visits once and probe it per row, where a correlated
    ``EXISTS`` per injection line made PostgreSQL plan (and JIT-compile) millions of
    subquery runs (bench/safety.py)."""
    return Q(appointment_id__in=_links(organisation, query).values("appointment_id"))


def _grouped(
    organisation: Organisation,
    sessions: QuerySet[TreatmentSession],
    query: RatesQuery,
    *keys: str,
) -> list[dict[str, Any]]:
    distinct = any(k.startswith("injections__") for k in keys)
    return list(
        sessions.values(*keys)
        .annotate(
            n=Count("pk", distinct=distinct),
            k=Count("pk", distinct=distinct, filter=_followed(organisation, query)),
        )
        .order_by(*keys)
    )


def _rows(
    records: list[dict[str, Any]], *, key: str, label: str, group: str | None = None
) -> list[RateRow]:
    """One row per group of ``_grouped`` (a session without lines has no product: left out)."""
    return [
        RateRow(
            key=str(r[key]),
            label=str(r[label]),
            rate=stats.rate(int(r["k"]), int(r["n"])),
            group=str(r[group]) if group else "",
        )
        for r in records
        if r[key] is not None
    ]


def _compared(rows: list[RateRow], totals: dict[str, tuple[int, int]]) -> list[RateRow]:
    """Each row against the rest of its group (by ``group``), Bonferroni over the group."""
    sizes: dict[str, int] = {}
    for row in rows:
        if row.rate.sessions:
            sizes[row.group] = sizes.get(row.group, 0) + 1
    result = []
    for row in rows:
        k_all, n_all = totals[row.group]
        comparison = None
        if sizes.get(row.group, 0) >= 2 and row.rate.sessions:
            # A session that used two lots of one product counts in both: never below 0.
            rest_n = max(n_all - row.rate.sessions, 0)
            rest_k = min(max(k_all - row.rate.events, 0), rest_n)
            comparison = stats.compare_with_rest(
                row.rate.events,
                row.rate.sessions,
                rest_k,
                rest_n,
                alpha=ALPHA,
                comparisons=sizes[row.group],
            )
        result.append(
            RateRow(
                key=row.key,
                label=row.label,
                rate=row.rate,
                comparison=comparison,
                group=row.group,
            )
        )
    return result


def _summed(records: list[dict[str, Any]], key: str, label: str) -> list[dict[str, Any]]:
    """Records grouped by more than ``key`` added up per ``key``: exact for counts of
    sessions when each session has one value of every grouped field (one practitioner,
    one protocol), so the groups are disjoint."""
    sums: dict[Any, dict[str, Any]] = {}
    for r in records:
        row = sums.setdefault(r[key], {key: r[key], label: r[label], "n": 0, "k": 0})
        row["n"] += r["n"]
        row["k"] += r["k"]
    return list(sums.values())


def safety_rates(*, organisation: Organisation, query: RatesQuery) -> RatesReport:
    """Every table of the safety page for one period (four queries)."""
    sessions = _sessions(organisation, query)
    practitioner, practitioner_name = "practitioner", "practitioner__full_name"
    protocol = "protocol_version__protocol"
    protocol_name = "protocol_version__protocol__current_version__name"
    # One query for the whole period, the practitioners and the protocols: every session has
    # exactly one of each, so their counts add up.
    pairs = _grouped(
        organisation, sessions, query, practitioner, practitioner_name, protocol, protocol_name
    )
    n_total = sum(int(r["n"]) for r in pairs)
    k_total = sum(int(r["k"]) for r in pairs)
    overall = stats.rate(k_total, n_total)
    by_practitioner = _compared(
        _rows(
            _summed(pairs, practitioner, practitioner_name),
            key=practitioner,
            label=practitioner_name,
        ),
        {"": (k_total, n_total)},
    )
    by_protocol = _rows(_summed(pairs, protocol, protocol_name), key=protocol, label=protocol_name)

    # Products and lots count distinct sessions (a session has several lines): one query
    # each, since a session with two lots of one product counts once for the product.
    by_product = _rows(
        _grouped(organisation, sessions, query, "injections__product", "injections__product__name"),
        key="injections__product",
        label="injections__product__name",
    )
    by_lot = _compared(
        _rows(
            _grouped(
                organisation,
                sessions,
                query,
                "injections__lot",
                "injections__lot__lot_number",
                "injections__product__name",
            ),
            key="injections__lot",
            label="injections__lot__lot_number",
            group="injections__product__name",
        ),
        {row.label: (row.rate.events, row.rate.sessions) for row in by_product},
    )

    # Each event has one term, so the events per term add up to the period's events.
    per_term = {
        str(r["event__term"]): (int(r["k"]), int(r["e"]))
        for r in _links(organisation, query)
        .filter(appointment_id__in=sessions.values("appointment_id"))
        .values("event__term")
        .annotate(k=Count("appointment_id", distinct=True), e=Count("event_id", distinct=True))
        .order_by("event__term")
    }
    by_term = [
        RateRow(key=term.code, label=term.label, rate=stats.rate(per_term[term.code][0], n_total))
        for term in catalogue.terms()
        if term.code in per_term
    ]
    return RatesReport(
        query=query,
        overall=overall,
        events=sum(e for _k, e in per_term.values()),
        by_product=sorted(by_product, key=lambda r: r.label.lower()),
        by_lot=sorted(by_lot, key=lambda r: (r.group.lower(), r.label)),
        by_protocol=sorted(by_protocol, key=lambda r: r.label.lower()),
        by_practitioner=sorted(by_practitioner, key=lambda r: r.label.lower()),
        by_term=by_term,
    )


def safety_rates_read(*, workspace: Workspace, query: RatesQuery, channel: str) -> RatesReport:
    """``safety_rates`` for the workspace's organisation, recorded in the audit trail as a
    ``safety.read`` with what was asked (period, clinic, relation filter) and where
    (``channel``: page, csv or api)."""
    report = safety_rates(organisation=workspace.organisation, query=query)
    audit_record(
        action="safety.read",
        actor=workspace.user,
        organisation=workspace.organisation,
        changes={
            "period": {"new": f"{query.start}..{query.end}"},
            "clinic": {"new": query.clinic.pk if query.clinic else "all"},
            "related_only": {"new": query.related_only},
            "format": {"new": channel},
        },
    )
    return report


CSV_HEADER = [
    "table",
    "group",
    "label",
    "sessions_with_side_effect",
    "sessions",
    "per_100_sessions",
    "wilson_low_per_100",
    "wilson_high_per_100",
    "exact_low_per_100",
    "exact_high_per_100",
    "fisher_one_sided_p",
    "bonferroni_threshold",
    "above_rest",
]


def _fmt(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def csv_rows(report: RatesReport) -> list[list[str]]:
    """The report as CSV rows (header first): every table, every count behind a rate."""
    rows = [CSV_HEADER]
    tables = [("overall", [RateRow(key="all", label="All sessions", rate=report.overall)])]
    tables += [(name, table) for name, _label, table in report.tables()]
    for name, table in tables:
        for row in table:
            wilson = row.rate.wilson.per_100() if row.rate.wilson else (None, None)
            exact = row.rate.exact.per_100() if row.rate.exact else (None, None)
            rows.append(
                [
                    name,
                    row.group,
                    row.label,
                    str(row.rate.events),
                    str(row.rate.sessions),
                    _fmt(row.rate.per_100),
                    _fmt(wilson[0]),
                    _fmt(wilson[1]),
                    _fmt(exact[0]),
                    _fmt(exact[1]),
                    _fmt(row.comparison.p_value, 4) if row.comparison else "",
                    _fmt(row.comparison.threshold, 4) if row.comparison else "",
                    ("yes" if row.highlight else "no") if row.comparison else "",
                ]
            )
    return rows
