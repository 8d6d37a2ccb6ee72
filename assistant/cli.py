"""`wpa`: the command line (ingest, diff, ask, eval; the service adds serve/user)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.errors import IngestError

from .config import load_settings
from .store import StoreUnavailable

app = typer.Typer(help="水污染防治許可諮詢助理 (water-permit-assistant)", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@app.command()
def ingest(
    source: Optional[str] = typer.Option(None, "--source", help="law open-data file (.json/.zip/.gz); default: WPA_LAW_SOURCE or the official download"),
    manifest: Optional[str] = typer.Option(None, "--manifest", help="corpus manifest (default corpus/sources.toml)"),
    force: bool = typer.Option(False, "--force", help="write a new version even if nothing changed"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Build or refresh the index; only new or changed units are embedded."""
    from .indexing import run_ingest

    settings = load_settings()
    with Progress(TextColumn("[bold]embedding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            s = run_ingest(settings, source=source, manifest_path=manifest, progress=progress, force=force)
        except (IngestError, StoreUnavailable) as exc:
            _fail(f"{exc}\nThe existing index was left unchanged.")
    if as_json:
        print(json.dumps(s.to_dict(), ensure_ascii=False, indent=1))
        return
    t = Table(title=f"ingest {s.corpus_version} → version {s.version_id or '(none)'}")
    for col in ("laws", "units", "added", "changed", "removed", "unchanged", "embedded", "seconds"):
        t.add_column(col, justify="right")
    t.add_row(*(str(x) for x in (s.laws, s.units, s.added, s.changed, s.removed, s.unchanged, s.embedded,
                                 f"{s.total_seconds:.1f}")))
    console.print(t)
    if s.embedded and s.embed_seconds:
        console.print(f"embedded {s.embedded} texts, {s.embed_tokens} tokens in {s.embed_seconds:.1f}s "
                      f"({s.embed_tokens / s.embed_seconds:.0f} tokens/s)")
    if s.lexical_only:
        console.print(f"{s.lexical_only} units of abolished laws are searchable by words only (no vector)")
    if not s.switched:
        console.print("nothing changed: the current index stays in service")
    if s.diff:
        d = s.diff
        console.print(f"corpus {d['old_version']} → {d['new_version']}: laws added {len(d['laws_added'])}, "
                      f"abolished {len(d['laws_abolished'])}, amended {d['laws_amended']}; articles "
                      + ", ".join(f"{k} {v}" for k, v in d["articles"].items()))


@app.command()
def diff(
    old: Path = typer.Argument(..., help="older open-data file"),
    new: Path = typer.Argument(..., help="newer open-data file"),
    manifest: Optional[str] = typer.Option(None, "--manifest"),
    all_laws: bool = typer.Option(False, "--all", help="compare every law, not only the manifest's scope"),
    show_text: bool = typer.Option(True, "--text/--no-text", help="print old and new text of amended articles"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Article-level changes between two corpus files."""
    from dataclasses import asdict

    from ingest.diff import diff_corpora
    from ingest.manifest import load_manifest
    from ingest.moj import load_corpus

    try:
        m = load_manifest(manifest)
        d = diff_corpora(load_corpus(old), load_corpus(new), None if all_laws else m.selects)
    except IngestError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(asdict(d), ensure_ascii=False, indent=1))
        return
    console.print(f"[bold]{d.old_version} → {d.new_version}[/]")
    for label, laws in (("laws added", d.laws_added), ("laws abolished", d.laws_abolished),
                        ("laws no longer in the file", d.laws_removed)):
        console.print(f"{label}: {len(laws)}")
        for pcode, name in laws:
            console.print(f"  {pcode} {name}")
    console.print(f"laws amended: {len(d.laws_amended)}")
    console.print("articles: " + ", ".join(f"{k} {d.count(k)}" for k in ("added", "amended", "removed", "renumbered")))
    for c in d.articles:
        if c.kind == "added" and any(c.pcode == p for p, _ in d.laws_added):
            continue   # a new law's articles are summarised by its name above
        head = f"[{c.kind}] {c.law_name} {c.article}" + (f" (was {c.old_article})" if c.old_article else "")
        console.print(head, style={"amended": "yellow", "added": "green", "removed": "red"}.get(c.kind, "cyan"), markup=False)
        if show_text and c.kind == "amended":
            console.print(f"  舊：{c.old_text}", style="dim", markup=False)
            console.print(f"  新：{c.new_text}", markup=False)


def _load_assistant():
    from .pipeline import Assistant
    from .store import IndexMissing

    try:
        return Assistant.load()
    except (IndexMissing, StoreUnavailable) as exc:
        _fail(str(exc))


@app.command()
def ask(
    question: str = typer.Argument(..., help="the question, as a business would ask it"),
    as_json: bool = typer.Option(False, "--json", help="question, draft, citations with scores, abstained flag, timings"),
    include_abolished: bool = typer.Option(False, "--include-abolished", help="search abolished laws too"),
) -> None:
    """Draft a cited answer (or an abstention routed to staff) for one question."""
    a = _load_assistant()
    a.ask("暖機")   # load jieba and the model before timing the real question
    draft = a.ask(question, include_abolished=include_abolished or None)
    if as_json:
        print(json.dumps(draft.to_dict(), ensure_ascii=False, indent=1))
        return
    # soft_wrap: the terminal wraps the draft, rich inserts no line breaks ("第 48 條" stays whole when copied)
    console.print(f"[bold]問題：[/]{escape(question)}", markup=True, soft_wrap=True)
    if draft.read_as:
        console.print(f"[dim]（以繁體字讀作：{escape(draft.read_as)}）[/]", soft_wrap=True)
    if draft.corrections:
        read = "、".join(f"「{t}」讀作「{w}」" for t, w in draft.corrections)
        console.print(f"[dim]（{escape(read)}）[/]", soft_wrap=True)
    if draft.abstained:
        console.print(f"[bold yellow]轉交承辦人員[/]（{escape(draft.reason)}）", soft_wrap=True)
    console.print(draft.text, markup=False, soft_wrap=True)
    if draft.citations:
        t = Table(title="citations")
        for col in ("n", "law / article", "score", "passage"):
            t.add_column(col)
        for c in draft.citations:
            t.add_row(str(c.n), c.label + (" (廢止)" if c.abolished else ""), f"{c.score:.3f}", c.passage[:60])
        console.print(t)
    console.print(f"[dim]{draft.timings.get('ask_ms', 0):.0f} ms[/]")


@app.command("eval")
def eval_cmd(
    questions: Path = typer.Option(..., "--questions", help="question file (JSONL, shared/evals format)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the full report (with per-question rows) here"),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="also score lexical, dense and naive RAG"),
    naive: bool = typer.Option(True, "--naive/--no-naive", help="include the naive RAG baseline (embeds 500-char chunks once)"),
) -> None:
    """Recall@k, MRR, nDCG, key-fact coverage, citation precision, abstention, latency."""
    from evals.harness import load_questions, run_eval

    try:
        qs = load_questions(questions)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    a = _load_assistant()
    naive_rag = None
    if baselines and naive:
        from evals.naive import NaiveRAG

        with console.status("embedding the naive RAG baseline's chunks (cached after the first run)…"):
            naive_rag = NaiveRAG(a.retriever.version, a.settings)
    report = run_eval(a, qs, baselines=baselines, naive=naive_rag)
    t = Table(title=f"retrieval on {questions.name} ({report.drafts['answerable']} answerable questions)")
    for col in ("system", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10"):
        t.add_column(col, justify="right")
    for row in report.retrieval:
        t.add_row(row["system"], *(f"{row[k]:.3f}" for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")))
    console.print(t)
    d = report.drafts
    t2 = Table(title="drafts (product)")
    t2.add_column("metric")
    t2.add_column("value", justify="right")
    fmt = lambda v: "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    for k in ("key_fact_coverage", "citation_precision", "abstention_recall", "abstention_precision",
              "answerable_abstained", "latency_p50_ms", "latency_p95_ms", "questions"):
        t2.add_row(k, fmt(d[k]))
    console.print(t2)
    cats = report.by_category()
    if len(cats) > 1:
        t3 = Table(title="by category (product, weakest first)")
        for col in ("category", "questions", "R@5", "MRR@10", "coverage"):
            t3.add_column(col, justify="right" if col != "category" else "left")
        for c in cats:
            t3.add_row(c["category"], str(c["questions"]), f"{c['recall@5']:.2f}", f"{c['mrr@10']:.2f}", fmt(c["coverage"]))
        console.print(t3)
    if json_out:
        json_out.write_text(json.dumps({"retrieval": report.retrieval, "drafts": d, "by_category": cats,
                                        "questions": report.per_question},
                                       ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:  # pragma: no cover - console script entry
    app()


try:  # the service (issue: LINE webhook and console) registers its own commands
    from .service.cli import register as _register_service
except ImportError as _exc:  # pragma: no cover - only while the service package is absent
    if "assistant.service" not in str(_exc):
        raise
else:
    _register_service(app)
