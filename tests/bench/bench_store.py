"""Figure 5 of the performance issue: the local store, through its API and its daemon.

- PutTraceSegments: documents a second, sent with boto3 to a `xrayctl local serve` (another process) in
  batches of 50, by one client and by two concurrent ones (the daemon and the Lambda stand-in both write).
  The documents are what the SDKs send for many small Lambda traces: segments and independent subsegments
  with annotations and AWS calls.
- The daemon: a burst of 10,000 datagrams sent as fast as a separate process can (`--send`), to the Daemon
  that `local serve` runs, here started in this process with the store as its sink so its counters can be
  read: received, stored, lost (sent and never stored) and dropped by the kernel, over several runs.
- BatchGetTraces of the 10,000-node trace of bench_bigtrace from the store: the client's wall time to have
  the whole trace (every page, NextToken followed, botocore parsing each answer), median of 5.

Run: .venv/bin/python tests/bench/bench_store.py
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: tests.support

from benchlib import BENCH_DIR, Figure, Serve, clean_env, emit, say, seconds

BATCH = 50
PUT_DOCUMENTS = 20_000
CLIENTS = (1, 4)  # one caller waiting for each answer; several, as the real daemon uploads (8 at most)
BURST = 10_000
BURST_RUNS = 5
DATAGRAM_BYTES = 1000  # an SDK's segment with a few subsegments, or a subsegment with http, aws and metadata
HEADER = b'{"format":"json","version":1}\n'


def small_trace_documents(count: int, *, epoch: int) -> list[str]:
    """`count` documents as JSON text: traces of 5 documents each (a Lambda function segment, an S3 call
    and a local step sent as independent subsegments, an annotated step, a DynamoDB call), ids unique."""
    documents: list[str] = []
    for number in range(count // 5 + 1):
        trace_id = f"1-{epoch:08x}-{number:024x}"
        start = epoch + number * 0.001
        segment_id = f"{number:08x}00000000"
        common = {"trace_id": trace_id, "type": "subsegment", "parent_id": segment_id}
        s3 = {
            "operation": "PutObject",
            "bucket_name": "demo-bucket",
            "key": f"k/{number}",
            "region": "us-east-1",
        }
        documents += [
            json.dumps(
                {
                    "id": segment_id,
                    "trace_id": trace_id,
                    "name": "demo-function",
                    "origin": "AWS::Lambda::Function",
                    "start_time": start,
                    "end_time": start + 0.05,
                    "aws": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:demo"},
                    "annotations": {"order": number, "tier": "gold"},
                }
            ),
            json.dumps(
                {
                    "id": f"{number:08x}00000001",
                    "name": "s3",
                    "namespace": "aws",
                    "start_time": start + 0.01,
                    "end_time": start + 0.02,
                    "aws": s3,
                    "http": {"response": {"status": 200}},
                    **common,
                }
            ),
            json.dumps(
                {
                    "id": f"{number:08x}00000002",
                    "name": "validate",
                    "start_time": start + 0.02,
                    "end_time": start + 0.03,
                    "annotations": {"valid": True},
                    **common,
                }
            ),
            json.dumps(
                {
                    "id": f"{number:08x}00000003",
                    "name": "dynamodb",
                    "namespace": "aws",
                    "start_time": start + 0.03,
                    "end_time": start + 0.04,
                    "aws": {"operation": "GetItem", "table_name": "orders", "region": "us-east-1"},
                    "http": {"response": {"status": 200}},
                    **common,
                }
            ),
            json.dumps(
                {
                    "id": f"{number:08x}00000004",
                    "name": "render",
                    "start_time": start + 0.04,
                    "end_time": start + 0.045,
                    "metadata": {"default": {"bytes": number}},
                    **common,
                }
            ),
        ]
    return documents[:count]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc), 0.0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def put_rate(client: Any, documents: list[str], threads: int) -> tuple[float, int]:
    """Documents a second putting `documents` in batches of BATCH from `threads` threads, and how many the
    store refused."""
    batches = [documents[i : i + BATCH] for i in range(0, len(documents), BATCH)]
    unprocessed = [0] * threads

    def work(index: int) -> None:
        for batch in batches[index::threads]:
            answer = client.put_trace_segments(TraceSegmentDocuments=batch)
            unprocessed[index] += len(answer["UnprocessedTraceSegments"])

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(documents) / (time.perf_counter() - started), sum(unprocessed)


def bench_put_and_get() -> None:
    from tests.support.docs import BIG_TRACE_ID, big_trace_documents

    home = BENCH_DIR / "store" / "serve"
    shutil.rmtree(home, ignore_errors=True)
    with Serve(home) as serve:
        client = serve.boto3_client("xray")
        client.put_trace_segments(TraceSegmentDocuments=small_trace_documents(BATCH, epoch=0x6B000000))
        assert serve.process is not None
        for threads in CLIENTS:
            epoch = 0x6B100000 + threads * 0x1000
            say(f"PutTraceSegments: {PUT_DOCUMENTS:,} documents in batches of {BATCH}, {threads} client(s)")
            documents = small_trace_documents(PUT_DOCUMENTS, epoch=epoch)
            server_cpu = cpu_seconds(serve.process.pid)
            rate, unprocessed = put_rate(client, documents, threads)
            per_document = (cpu_seconds(serve.process.pid) - server_cpu) / len(documents)
            say(f"  {rate:,.0f} documents/s, {unprocessed} unprocessed")
            cost = f"; server CPU {per_document * 1e6:.0f} us a document" if per_document else ""
            emit(
                Figure(
                    f"PutTraceSegments over HTTP (boto3 -> local serve), batches of {BATCH}, "
                    f"{threads} concurrent client{'s' if threads > 1 else ''}",
                    f"{rate:,.0f} docs/s" + (f" ({unprocessed} unprocessed)" if unprocessed else "") + cost,
                    ">= 20,000 docs/s",
                    met=rate >= 20_000 and not unprocessed,
                )
            )

        say("BatchGetTraces of the 10,000-node trace")
        documents = [json.dumps(document) for document in big_trace_documents(10_000)]
        for offset in range(0, len(documents), BATCH):
            answer = client.put_trace_segments(TraceSegmentDocuments=documents[offset : offset + BATCH])
            if answer["UnprocessedTraceSegments"]:
                raise RuntimeError(f"the store refused {answer['UnprocessedTraceSegments'][:3]}")
        front = json.loads(documents[0])  # the trace's first segment
        cold, warm, pages, count = [], [], 0, 0
        for run in range(6):
            # A late subsegment first: every read below is the first since a write, as a user's show-trace
            # after the trace arrived is (the store keeps what it read until the trace changes).
            late = {"id": f"{0xFEED0000 + run:016x}", "name": "late", "start_time": front["start_time"]}
            late.update(
                type="subsegment", parent_id=front["id"], trace_id=BIG_TRACE_ID, end_time=late["start_time"]
            )
            client.put_trace_segments(TraceSegmentDocuments=[json.dumps(late)])
            started = time.perf_counter()
            pages, count = fetch_trace(client, BIG_TRACE_ID)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            fetch_trace(client, BIG_TRACE_ID)
            warm.append(time.perf_counter() - started)
        median = statistics.median(cold[1:])  # the first warms SQLite's page cache
        emit(
            Figure(
                "BatchGetTraces of the 10,000-node trace from the store (client wall, every page, parsed; "
                "first read after a write)",
                f"{seconds(median)} ({pages} pages, {count:,} segments; read again: "
                f"{seconds(statistics.median(warm[1:]))})",
                "< 0.5 s",
                met=median < 0.5,
            )
        )


def fetch_trace(client: Any, trace_id: str) -> tuple[int, int]:
    """Every page of BatchGetTraces for one trace, as xrayctl reads it: (pages, segments)."""
    kwargs: dict[str, Any] = {"TraceIds": [trace_id]}
    pages = segments = 0
    while True:
        answer = client.batch_get_traces(**kwargs)
        pages += 1
        segments += sum(len(trace["Segments"]) for trace in answer["Traces"])
        token = answer.get("NextToken")
        if not token:
            return pages, segments
        kwargs["NextToken"] = token


def burst_datagrams(count: int, run: int, size: int) -> list[bytes]:
    """`count` daemon datagrams of about `size` bytes on average (metadata pads the documents)."""
    texts = small_trace_documents(count, epoch=0x6C000000 + run * 0x100)
    pad = max(0, size - sum(map(len, texts)) // len(texts) - len(HEADER) - 40)
    datagrams = []
    for text in texts:
        document = json.loads(text)
        document.setdefault("metadata", {})["padding"] = {"text": "x" * pad}
        datagrams.append(HEADER + json.dumps(document).encode())
    return datagrams


def send_main(address: str, count: int, run: int, size: int) -> None:
    """The other process: every datagram as fast as sendto goes, then how long it took on stdout."""
    host, port = address.rsplit(":", 1)
    datagrams = burst_datagrams(count, run, size)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = (host, int(port))
    started = time.perf_counter()
    for datagram in datagrams:
        sock.sendto(datagram, target)
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": sum(map(len, datagrams))}))


def bench_daemon(size: int = DATAGRAM_BYTES) -> None:
    from xrayctl.local.xray.daemon import Daemon
    from xrayctl.local.xray.store import TraceStore

    results = []
    for run in range(BURST_RUNS):
        path = BENCH_DIR / "store" / f"daemon-{run}.sqlite"
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
        store = TraceStore(path)
        daemon = Daemon(store.put_documents).start()
        try:
            sender = subprocess.run(
                [sys.executable, __file__, "--send", daemon.address, str(BURST), str(run), str(size)],
                env=clean_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            sent = json.loads(sender.stdout)
            daemon.stop()  # stores every datagram that arrived before it
            stats = daemon.stats
            stored = store.stats()["documents"]
        finally:
            daemon.stop()
            store.close()
        lost = BURST - stored
        results.append((stats, stored, lost))
        say(
            f"  run {run + 1}: sent {BURST:,} in {seconds(sent['seconds'])} "
            f"({sent['bytes'] / 1e6:.1f} MB); received {stats.received:,}, stored {stored:,}, "
            f"rejected {stats.rejected}, dropped by the kernel {stats.dropped_by_kernel}, lost {lost}"
        )
    worst = max(results, key=lambda result: result[2])
    lost_runs = sum(1 for _, _, lost in results if lost)
    emit(
        Figure(
            f"daemon: burst of {BURST:,} datagrams of ~{size:,} bytes from another process, "
            f"{BURST_RUNS} runs",
            f"worst run: received {worst[0].received:,} / stored {worst[1]:,} / lost {worst[2]:,} "
            f"(kernel drops {worst[0].dropped_by_kernel}); {lost_runs} of {BURST_RUNS} runs lost any",
            "none lost",
            met=lost_runs == 0,
        )
    )


def main() -> None:
    say("bench_store")
    bench_put_and_get()
    say(f"daemon: {BURST_RUNS} bursts of {BURST:,} datagrams")
    bench_daemon()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--send":
        send_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
