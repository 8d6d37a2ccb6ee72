"""Ingest and query benchmarks: `python -m evals.bench_ingest --source FILE`.

Measures, in one process on a temporary WPA_HOME:
- cold ingest of the default manifest (wall time, units, tokens, embedding rate);
- the embedder's own raw rate on a sample of the same texts (no cache, no
  Chroma, no parsing), so the pipeline's overhead reads as a ratio;
- a second ingest of the same file (should embed nothing);
- optionally a refresh from an older snapshot (--refresh-from OLD): how many
  units the newer file re-embeds;
- warm `ask` latency p50/p95 over the development questions, and peak memory.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.embedders import get_embedder
from assistant.indexing import EMBED_BATCH, run_ingest
from assistant.store import read_units, current_version_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True)
    ap.add_argument("--refresh-from", default=None, help="older snapshot: ingest it first, then --source")
    ap.add_argument("--questions", default=None)
    ap.add_argument("--raw-sample", type=int, default=300, help="texts for the raw embedder rate")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        if args.refresh_from:
            s0 = run_ingest(settings, source=args.refresh_from)
            out["old_ingest"] = {"seconds": s0.total_seconds, "units": s0.units, "embedded": s0.embedded}
        t = time.perf_counter()
        s1 = run_ingest(settings, source=args.source)
        out["ingest"] = {"seconds": time.perf_counter() - t, "units": s1.units, "embedded": s1.embedded,
                         "added": s1.added, "changed": s1.changed, "removed": s1.removed,
                         "tokens": s1.embed_tokens, "embed_seconds": s1.embed_seconds,
                         "pipeline_tokens_per_s": s1.embed_tokens / s1.embed_seconds if s1.embed_seconds else None}
        t = time.perf_counter()
        s2 = run_ingest(settings, source=args.source)
        out["second_ingest"] = {"seconds": time.perf_counter() - t, "embedded": s2.embedded, "switched": s2.switched}

        units = read_units(settings.index_root / current_version_id(settings.index_root) / "units.jsonl")
        random.seed(0)
        sample = [u.embed_text() for u in random.sample(units, min(args.raw_sample, len(units)))]
        emb = get_embedder(settings.embedder)
        tokens = sum(emb.token_count(x) for x in sample)
        t = time.perf_counter()
        for i in range(0, len(sample), EMBED_BATCH):      # the pipeline's batch size
            emb.embed_passages(sample[i:i + EMBED_BATCH])
        raw = time.perf_counter() - t
        out["raw_embedder"] = {"texts": len(sample), "tokens": tokens, "seconds": raw, "tokens_per_s": tokens / raw}
        if out["ingest"]["pipeline_tokens_per_s"]:
            out["raw_over_pipeline_rate"] = out["raw_embedder"]["tokens_per_s"] / out["ingest"]["pipeline_tokens_per_s"]

        if args.questions:
            from assistant.pipeline import Assistant

            a = Assistant.load(settings)
            qs = [json.loads(x)["question"] for x in Path(args.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
            a.ask(qs[0])
            lat = []
            for q in qs:
                t = time.perf_counter()
                a.ask(q)
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            out["ask_ms"] = {"p50": statistics.median(lat), "p95": lat[int(0.95 * (len(lat) - 1))], "n": len(lat)}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
