"""An OTLP logs receiver for the tests: OTLP/HTTP (POST /v1/logs,
protobuf, gzip) or OTLP/gRPC (LogsService/Export), on 127.0.0.1.

It decodes every request with the OpenTelemetry protocol's own types and
writes one JSON line per request to --out: the answer it gave, the
request's content encoding and chosen headers, and every record with its
resource, typed values tagged by type. --answers lists the status of the
first requests (HTTP codes; for gRPC 503 is UNAVAILABLE and 400
INVALID_ARGUMENT); the rest get --then (default 200). Prints
`LISTENING PORT` once ready. With --tls CERT KEY it speaks TLS; with
--count-only each line holds the request's record count instead of its
records (for bench/otlp.py).

    receiver.py --protocol http --out requests.jsonl [--answers 503,503]
"""

import argparse
import gzip
import json
import ssl
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

HEADERS = ("x-api-key",)


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return {"string": v.string_value}
    if kind == "int_value":
        return {"int": v.int_value}
    if kind == "double_value":
        return {"double": v.double_value}
    if kind == "bool_value":
        return {"bool": v.bool_value}
    if kind == "bytes_value":
        return {"bytes": v.bytes_value.hex()}
    if kind == "array_value":
        return {"array": [value(x) for x in v.array_value.values]}
    if kind == "kvlist_value":
        return {"kvlist": {kv.key: value(kv.value) for kv in v.kvlist_value.values}}
    return {kind: str(v)}


def attributes(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def records(request):
    out = []
    for rl in request.resource_logs:
        resource = attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                out.append(
                    {
                        "resource": resource,
                        "scope": sl.scope.name,
                        "body": value(r.body),
                        "severity_number": r.severity_number,
                        "severity_text": r.severity_text,
                        "time_unix_nano": r.time_unix_nano,
                        "observed_time_unix_nano": r.observed_time_unix_nano,
                        "attributes": attributes(r.attributes),
                    }
                )
    return out


def count(request):
    """As many placeholders as the request has records."""
    n = sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return [None] * n


class Log:
    """The requests so far, and the answers still to give."""

    def __init__(self, path, answers, then, retry_after, count_only):
        self.file = open(path, "a", encoding="utf-8")
        self.count_only = count_only
        self.answers = list(answers)
        self.then = then
        self.retry_after = retry_after
        self.lock = threading.Lock()

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if self.answers else self.then

    def write(self, entry):
        if self.count_only:
            entry["count"] = len(entry.pop("records"))
        with self.lock:
            self.file.write(json.dumps(entry) + "\n")
            self.file.flush()


def serve_http(log, port, tls):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/logs":
                self.answer(404, b"no such path", "text/plain")
                return
            encoding = self.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            request = logs_service_pb2.ExportLogsServiceRequest()
            request.ParseFromString(body)
            status = log.next_answer()
            log.write(
                {
                    "answer": status,
                    "content_type": self.headers.get("Content-Type"),
                    "content_encoding": encoding,
                    "headers": {h: self.headers.get(h) for h in HEADERS},
                    "records": records(request) if not log.count_only else count(request),
                }
            )
            if status == 200:
                response = logs_service_pb2.ExportLogsServiceResponse()
                self.answer(200, response.SerializeToString(), "application/x-protobuf")
            else:
                extra = {}
                if status in (429, 503) and log.retry_after is not None:
                    extra["Retry-After"] = str(log.retry_after)
                self.answer(status, b"test receiver says no (%d)" % status, "text/plain", extra)

        def answer(self, status, body, content_type, extra=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


def serve_grpc(log, port, tls):
    import grpc

    codes = {503: grpc.StatusCode.UNAVAILABLE, 400: grpc.StatusCode.INVALID_ARGUMENT,
             429: grpc.StatusCode.RESOURCE_EXHAUSTED}

    class Service(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request, context):
            metadata = dict(context.invocation_metadata())
            status = log.next_answer()
            log.write(
                {
                    "answer": status,
                    "content_type": None,
                    "content_encoding": metadata.get("grpc-encoding"),
                    "headers": {h: metadata.get(h) for h in HEADERS},
                    "records": records(request) if not log.count_only else count(request),
                }
            )
            if status != 200:
                context.abort(codes.get(status, grpc.StatusCode.INTERNAL),
                              f"test receiver says no ({status})")
            return logs_service_pb2.ExportLogsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Service(), server)
    if tls:
        with open(tls[0], "rb") as c, open(tls[1], "rb") as k:
            credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
        bound = server.add_secure_port(f"127.0.0.1:{port}", credentials)
    else:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"LISTENING {bound}", flush=True)
    server.wait_for_termination()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", choices=["http", "grpc"], required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--answers", default="")
    p.add_argument("--then", type=int, default=200)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    p.add_argument("--count-only", action="store_true")
    p.add_argument("--retry-after", type=int, default=None)
    args = p.parse_args()
    answers = [int(a) for a in args.answers.split(",") if a]
    log = Log(args.out, answers, args.then, args.retry_after, args.count_only)
    if args.protocol == "http":
        serve_http(log, args.port, args.tls)
    else:
        serve_grpc(log, args.port, args.tls)


if __name__ == "__main__":
    sys.exit(main())
