"""Benchmark of the local embeddings: load time, query latency, throughput, int8 vs fp32.

Run with ``.venv/bin/python evals/bench_embeddings.py`` (``--help`` for options).
It prints numbers and checks nothing; everything runs offline on the
installed model packages.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCES = [
    "Can we move Tuesday's call to 3pm?",
    "Could you send me the slides from yesterday's board meeting?",
    "I'm running ten minutes late, start without me.",
    "Please find attached the signed contract for the Hamburg office lease.",
    "Invoice 2231 for October is overdue; please pay within seven days.",
    "Thanks for the quick reply, that works for me.",
    "Dana is on parental leave until March, please contact Omar instead.",
    "Your flight LH 1234 from Berlin to Lisbon on 4 December is confirmed.",
    "The dentist appointment has been moved to Friday at 8:30.",
    "Let's grab lunch next week if you're around.",
    "Could you review the draft budget before Thursday's review?",
    "We need your approval for the new hire in the London team.",
    "The quarterly report is due on the 15th; numbers are still missing from sales.",
    "Happy birthday! Hope you have a wonderful day.",
    "Unfortunately I have to cancel our meeting tomorrow because of a family emergency.",
    "Is the conference room on the third floor free on Monday afternoon?",
    "The server migration is scheduled for Saturday night between 22:00 and 02:00.",
    "Please confirm whether you will attend the offsite in Munich.",
    "Reminder: your passport expires in two months.",
    "I've shared the folder with the design mock-ups; let me know what you think.",
    "Our insurance renewal quote came in 12% higher than last year.",
    "Could we push the product launch by two weeks?",
    "The kids' school is closed on Friday for a teacher training day.",
    "Your package will be delivered between 10:00 and 14:00 tomorrow.",
    "Are you available for a quick call about the Acme proposal this afternoon?",
    "The landlord will send someone to fix the heating on Wednesday.",
    "Please update the shared calendar with your holiday dates.",
    "I'd like to introduce you to Priya, who leads procurement at Globex.",
    "We received your application and will get back to you within two weeks.",
    "The tax advisor needs the receipts for 2025 by the end of January.",
    "Can you sign the NDA and send it back today?",
    "The board approved the budget with minor changes to marketing.",
    "Dinner is booked at Lokal for 7:30 on Saturday, table for four.",
    "My train is delayed, I'll be at the office around eleven.",
    "Please don't forward this e-mail outside the company.",
    "Attached is the agenda for next Monday's all-hands.",
    "The customer reported a bug in the invoicing module after the last update.",
    "Would Thursday at 10 or Friday at 2 suit you better?",
    "We're out of coffee capsules again, can someone order more?",
    "Your subscription will renew automatically on 1 January.",
    "Let me know if you need anything else from my side.",
    "The workshop has been rescheduled to the 18th because the trainer is ill.",
    "Congratulations on the promotion, well deserved!",
    "Could you check whether the hotel booking includes breakfast?",
    "The audit found no material issues, the final letter follows next week.",
    "I'm out of office until Monday with limited access to e-mail.",
    "We should discuss the hiring plan before the budget is locked.",
    "Can you make the 9am stand-up tomorrow or should we move it?",
    "The pediatrician asked us to bring the vaccination record.",
    "Please approve the expense report for the Vienna trip.",
]

SHORT_QUERIES = [
    "budget review moved",
    "flight to Lisbon",
    "who replaces Dana",
    "overdue invoice",
    "dentist appointment",
    "offsite in Munich",
    "heating repair",
    "NDA signature",
]


def make_emails(count: int, tokens: int, tokenize: object) -> list[str]:
    """E-mails of exactly ``tokens`` tokens (with [CLS]/[SEP]) made from the sentences."""
    emails = []
    for n in range(count):
        words: list[str] = ["Hi Ada,"]
        k = n
        while True:
            sentence = SENTENCES[k % len(SENTENCES)]
            k += 7
            candidate = words + sentence.split()
            if len(tokenize([" ".join(candidate)])[0]) > tokens:  # type: ignore[operator]
                break
            words = candidate
        for word in sentence.split():
            if len(tokenize([" ".join([*words, word])])[0]) > tokens:  # type: ignore[operator]
                break
            words.append(word)
        emails.append(" ".join(words))
    return emails


def pct(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--emails", type=int, default=256)
    parser.add_argument("--no-reference", action="store_true", help="skip the fp32 NumPy pass")
    parser.add_argument("--no-chroma", action="store_true", help="skip the Chroma round trip")
    args = parser.parse_args()
    if args.threads:
        os.environ["SECRETARY_EMBEDDING_THREADS"] = str(args.threads)

    from tools.providers.memory.embeddings import OnnxMiniLM, resolve_model_files

    files = resolve_model_files()
    print(f"model: {OnnxMiniLM().model_id}")
    print(f"  graph:     {files.onnx}")
    print(f"  tokenizer: {files.tokenizer}")
    print(f"  cpus: {os.cpu_count()}, threads: {args.threads or 'onnxruntime default'}")

    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    t1 = time.perf_counter()
    ef = OnnxMiniLM().load()
    t2 = time.perf_counter()
    print(
        f"\nload: imports {1000 * (t1 - t0):.0f} ms + session and tokenizer "
        f"{1000 * (t2 - t1):.0f} ms = {1000 * (t2 - t0):.0f} ms"
    )

    runtime = ef._runtime()
    for q in SHORT_QUERIES:  # warm-up
        ef([q])
    times = []
    for i in range(args.queries):
        q = SHORT_QUERIES[i % len(SHORT_QUERIES)]
        start = time.perf_counter()
        ef([q])
        times.append(1000 * (time.perf_counter() - start))
    lengths = [len(ids) for ids in runtime.tokenize(SHORT_QUERIES)]
    print(
        f"\nshort query ({min(lengths)}-{max(lengths)} tokens), {args.queries} calls: "
        f"p50 {statistics.median(times):.2f} ms, p95 {pct(times, 0.95):.2f} ms, "
        f"max {max(times):.2f} ms"
    )
    ids = runtime.tokenize([SHORT_QUERIES[0]])
    fixed = []
    for _ in range(30):
        start = time.perf_counter()
        runtime.embed_ids(ids, pad_to=256)
        fixed.append(1000 * (time.perf_counter() - start))
    print(
        f"  same query padded to 256 tokens (what a fixed-length pipeline pays): "
        f"p50 {statistics.median(fixed):.1f} ms"
    )

    emails = make_emails(args.emails, 228, runtime.tokenize)
    email_lengths = [len(x) for x in runtime.tokenize(emails)]
    ef(emails[:32])
    start = time.perf_counter()
    email_vectors = np.stack(ef(emails))
    took = time.perf_counter() - start
    print(
        f"\nbatch throughput, {len(emails)} e-mails of {min(email_lengths)}-"
        f"{max(email_lengths)} tokens, batches of {ef.batch_size}: "
        f"{len(emails) / took:.1f} texts/s ({1000 * took / len(emails):.1f} ms per e-mail)"
    )

    have_safetensors = importlib.util.find_spec("safetensors") is not None
    if not args.no_reference and files.safetensors is not None and have_safetensors:
        reference = OnnxMiniLM(backend="numpy")
        start = time.perf_counter()
        reference.load()
        load_ref = time.perf_counter() - start
        sent_cos = (np.stack(ef(SENTENCES)) * np.stack(reference(SENTENCES))).sum(axis=1)
        subset = emails[:64]
        start = time.perf_counter()
        ref_emails = np.stack(reference(subset))
        ref_rate = len(subset) / (time.perf_counter() - start)
        mail_cos = (email_vectors[: len(subset)] * ref_emails).sum(axis=1)
        print(
            f"\nint8 ONNX vs fp32 reference (NumPy BERT on model.safetensors, "
            f"load {1000 * load_ref:.0f} ms, {ref_rate:.1f} e-mails/s):"
        )
        print(
            f"  {len(SENTENCES)} e-mail sentences: cosine mean {sent_cos.mean():.5f}, "
            f"min {sent_cos.min():.5f}"
        )
        print(
            f"  {len(subset)} 228-token e-mails:   cosine mean {mail_cos.mean():.5f}, "
            f"min {mail_cos.min():.5f}"
        )
        a, b = np.stack(ef(SENTENCES)), np.stack(reference(SENTENCES))
        sims_a, sims_b = a @ a.T, b @ b.T
        iu = np.triu_indices(len(SENTENCES), 1)
        rank_a = np.argsort(np.argsort(sims_a[iu]))
        rank_b = np.argsort(np.argsort(sims_b[iu]))
        spearman = np.corrcoef(rank_a, rank_b)[0, 1]
        top1 = np.mean(
            [
                np.argmax(np.where(np.eye(len(a))[i] > 0, -2, sims_a[i]))
                == np.argmax(np.where(np.eye(len(b))[i] > 0, -2, sims_b[i]))
                for i in range(len(a))
            ]
        )
        print(
            f"  pairwise similarities: max abs diff "
            f"{np.abs(sims_a - sims_b).max():.4f}, Spearman {spearman:.4f}, "
            f"nearest neighbour agrees {100 * top1:.0f}%"
        )

    if not args.no_chroma:
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError:
            print("\nchromadb is not installed; skipping the collection round trip")
            return
        from tools.providers.memory.embeddings import for_chroma

        with tempfile.TemporaryDirectory() as tmp:
            client = chromadb.PersistentClient(
                path=tmp, settings=Settings(anonymized_telemetry=False)
            )
            col = client.get_or_create_collection(
                "bench", embedding_function=for_chroma(OnnxMiniLM())
            )
            docs = emails + SENTENCES
            start = time.perf_counter()
            col.add(ids=[str(i) for i in range(len(docs))], documents=docs)
            add = time.perf_counter() - start
            qtimes = []
            for i in range(50):
                start = time.perf_counter()
                col.query(query_texts=[SHORT_QUERIES[i % len(SHORT_QUERIES)]], n_results=5)
                qtimes.append(1000 * (time.perf_counter() - start))
            print(
                f"\nChroma {chromadb.__version__} PersistentClient, {len(docs)} documents: "
                f"add {len(docs) / add:.1f} docs/s; query (embed + search) "
                f"p50 {statistics.median(qtimes):.2f} ms, p95 {pct(qtimes, 0.95):.2f} ms"
            )


if __name__ == "__main__":
    main()
