"""A Databricks workspace's REST API on 127.0.0.1, over HTTPS, as far as a Pipes launch on a job
cluster uses it: DBFS for Pipes' files, ``runs/submit``, ``runs/get`` and ``runs/cancel`` for
the one-time job.

It records every request, so a test reads the exact bodies the launcher sends over the wire. The
job ends as the test sets (``Workspace.run_ends``): at once, by default with success, or when
it is cancelled. Its Pipes messages are those of a process that opens Pipes and closes it. A
real server rather than a patched client: the launcher, the Databricks SDK and Pipes' client
run unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dagster_pipes import PIPES_PROTOCOL_VERSION, PIPES_PROTOCOL_VERSION_FIELD

RUN_ID = 4242
MESSAGES = "\n".join(
    json.dumps({PIPES_PROTOCOL_VERSION_FIELD: PIPES_PROTOCOL_VERSION, "method": method, "params": params})
    for method, params in (("opened", {"extras": {}}), ("closed", {}))
)
"""A job process's first (and here only) chunk of Pipes messages, as it writes it to ``1.json``."""
SUCCEEDED = {"state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}}
"""How ``runs/get`` describes the job once it has run, unless a test says otherwise."""
RUNNING = {"state": {"life_cycle_state": "RUNNING"}, "status": {"state": "RUNNING"}}
"""A job that runs until ``runs/cancel`` ends it (as CANCELLED)."""


def run_ended(
    result: str | None,
    message: str,
    code: str | None = None,
    kind: str | None = None,
    life_cycle: str = "TERMINATED",
) -> dict[str, Any]:
    """How ``runs/get`` describes a run (as ended, unless ``life_cycle`` says otherwise): its
    state, and its termination's details when it has a ``code`` or a ``kind`` (the API's type)."""
    state = {"life_cycle_state": life_cycle, "result_state": result, "state_message": message}
    ended: dict[str, Any] = {"state": {name: value for name, value in state.items() if value}}
    if code or kind:
        details = {"code": code, "type": kind, "message": message}
        ended["status"] = {
            "state": "TERMINATED",
            "termination_details": {name: value for name, value in details.items() if value},
        }
    return ended


CANCELLED = run_ended("CANCELED", "Run cancelled", code="USER_CANCELED", kind="SUCCESS")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Workspace:
    url: str
    ca_bundle: str
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # what was put on DBFS
    folders: set[str] = field(default_factory=set)  # made on DBFS and not deleted
    run_ends: dict[str, Any] = field(default_factory=lambda: SUCCEEDED)  # runs/get's state and status

    @property
    def run_page(self) -> str:
        return f"{self.url}/#job/runs/{RUN_ID}"

    def bodies(self, method: str, path: str) -> list[dict[str, Any]]:
        return [call.body for call in self.calls if (call.method, call.path) == (method, path)]


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files; the certificate is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "workspace.pem", folder / "workspace.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _handler(workspace: Workspace) -> type[BaseHTTPRequestHandler]:
    not_found = (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such file"})

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            workspace.calls.append(Call(self.command, parts.path, query, dict(self.headers), body))
            status, answer = self._answer(parts.path, query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict]:
            if path == "/api/2.0/dbfs/put":
                workspace.files[body["path"]] = base64.b64decode(body["contents"])
                return 200, {}
            if path == "/api/2.0/dbfs/mkdirs":
                workspace.folders.add(body["path"])
                return 200, {}
            if path == "/api/2.0/dbfs/delete":
                workspace.folders.discard(body["path"])
                return 200, {}
            if path == "/api/2.0/dbfs/get-status" and query.get("path") in workspace.folders:
                return 200, {"path": query["path"], "is_dir": True}
            if path == "/api/2.0/dbfs/read" and self._job_ended_in(query["path"]):
                return 200, {
                    "bytes_read": len(MESSAGES),
                    "data": base64.b64encode(MESSAGES.encode()).decode(),
                }
            if path in ("/api/2.0/dbfs/get-status", "/api/2.0/dbfs/read"):
                return not_found
            if path == "/api/2.2/jobs/runs/submit":
                return 200, {"run_id": RUN_ID}
            if path == "/api/2.2/jobs/runs/cancel" and body.get("run_id") == RUN_ID:
                workspace.run_ends = CANCELLED
                return 200, {}
            if path == "/api/2.2/jobs/runs/get" and query.get("run_id") == str(RUN_ID):
                return 200, {"run_id": RUN_ID, "run_page_url": workspace.run_page, **workspace.run_ends}
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no {path} here"}

        @staticmethod
        def _job_ended_in(file: str) -> bool:
            """The first messages chunk in a folder made for the job, once the job has run."""
            folder, _, name = file.rpartition("/")
            submitted = any(call.path == "/api/2.2/jobs/runs/submit" for call in workspace.calls)
            return submitted and name == "1.json" and folder in workspace.folders

        do_GET = do_POST = _serve

        def log_message(self, *args: object) -> None:  # the calls are recorded; keep pytest's output clean
            pass

    return Handler


@contextmanager
def local_workspace(folder: Path) -> Iterator[Workspace]:
    """A workspace at https://127.0.0.1:<port>; clients trust it through ``workspace.ca_bundle``."""
    cert_path, key_path = _self_signed_certificate(folder)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    workspace = Workspace(url=f"https://127.0.0.1:{server.server_address[1]}", ca_bundle=str(cert_path))
    server.RequestHandlerClass = _handler(workspace)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield workspace
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
