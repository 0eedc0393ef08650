"""SECURITY.md "Outbound requests": the address that passed the SSRF check is the one
connected to. A resolver answers a public address to the check and 127.0.0.1 after it;
the default transport never connects to 127.0.0.1, and where it connects to the checked
address TLS still sends and verifies the host name (SNI, certificate)."""

from __future__ import annotations

import datetime
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors import http as outbound

HOST = "api.rebind.test"
PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def production(settings):
    settings.ALLOW_LOCAL_PROVIDERS = False


class Network:
    """A stand-in for DNS and routing: `answers` are what successive lookups of HOST
    return; a connection to PUBLIC_IP reaches the local test server."""

    def __init__(self, monkeypatch, answers: list[str], server_port: int = 0) -> None:
        self.answers, self.server_port = answers, server_port
        self.connected: list[str] = []
        self.lookups = 0  # of HOST
        real_connect = urllib3.util.connection.create_connection

        def getaddrinfo(host, port, *args, **kwargs):
            if host != HOST:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, port or 0))]
            self.lookups += 1
            address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

        def connect(address, *args, **kwargs):
            host, port = address
            ip = getaddrinfo(host, port)[0][4][0]  # what the OS would do with a name
            self.connected.append(ip)
            if ip != PUBLIC_IP:
                raise ConnectionRefusedError("the test network only routes PUBLIC_IP")
            return real_connect(("127.0.0.1", self.server_port), *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)


def test_a_rebinding_answer_after_the_check_is_never_connected_to(production, monkeypatch):
    """Public for the check, then 127.0.0.1 to any later lookup: the request goes to the
    checked address alone (which does not answer here) and never to loopback."""
    network = Network(monkeypatch, [PUBLIC_IP, "127.0.0.1"])
    with pytest.raises((outbound.UnsafeURL, requests.ConnectionError)):
        outbound.Session().get(f"https://{HOST}/internal")
    assert network.connected == [PUBLIC_IP]


def test_the_pinned_adapter_on_its_own_checks_the_url_itself(production, monkeypatch):
    """Sent straight to the adapter, or with an address noted for another URL, the request
    is checked (and refused) there: the noted address only serves the URL it was for."""
    Network(monkeypatch, ["127.0.0.1"])
    adapter = outbound.PinnedAdapter(max_retries=0)
    request = requests.Request("GET", f"https://{HOST}/internal").prepare()
    with pytest.raises(outbound.UnsafeURL):
        adapter.send(request, timeout=5)
    request._checked = (f"https://{HOST}/elsewhere", PUBLIC_IP)
    with pytest.raises(outbound.UnsafeURL):
        adapter.send(request, timeout=5)


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (and key) for `name`, in PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path) -> Iterator[dict]:
    """A local HTTPS server presenting a certificate for HOST; records SNI and Host."""
    cert_path, key_path = certificate(tmp_path, HOST)
    seen: dict = {"sni": [], "host": [], "cafile": str(cert_path)}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen["host"].append(self.headers["Host"])
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ping")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    seen["port"] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


def test_the_checked_address_is_connected_with_sni_and_verification_on_the_name(
        production, monkeypatch, tls_server):
    """The connection goes to the checked IP; SNI, Host and the certificate name HOST."""
    network = Network(monkeypatch, [PUBLIC_IP], server_port=tls_server["port"])
    response = outbound.Session().get(f"https://{HOST}/ping", verify=tls_server["cafile"])
    assert response.text == "ok"
    assert network.connected == [PUBLIC_IP]
    assert tls_server["sni"] == [HOST]
    assert tls_server["host"] == [HOST]


def test_a_certificate_for_another_name_is_refused(production, monkeypatch, tls_server,
                                                    tmp_path):
    """Certificate checks still apply to the host name, not to the pinned address."""
    Network(monkeypatch, [PUBLIC_IP], server_port=tls_server["port"])
    other_ca, _key = certificate(tmp_path, "other.rebind.test")
    with pytest.raises(requests.exceptions.SSLError):
        outbound.Session().get(f"https://{HOST}/ping", verify=str(other_ca))


def test_each_request_resolves_its_host_once(production, monkeypatch, tls_server):
    """Checked and connected on one answer: not resolved once for the check and again for
    the connection -- by requests' path, by the proxy's `forward` and at each redirect hop."""
    network = Network(monkeypatch, [PUBLIC_IP], server_port=tls_server["port"])
    session = outbound.Session()
    session.verify = tls_server["cafile"]
    assert session.get(f"https://{HOST}/ping").text == "ok"
    assert network.lookups == 1
    forwarded = session.forward("GET", f"https://{HOST}/ping", headers={}, body=None)
    assert forwarded.content == b"ok"
    assert network.lookups == 2
    assert session.get(f"https://{HOST}/moved").text == "ok"  # two hops
    assert network.lookups == 4
    assert set(network.connected) == {PUBLIC_IP}


def test_a_rebinding_answer_for_the_next_request_is_refused_by_its_check(
        production, monkeypatch, tls_server):
    """Each request is resolved anew: a name that turns to 127.0.0.1 after one request
    that reached the public address is refused at the next request's check."""
    network = Network(monkeypatch, [PUBLIC_IP, "127.0.0.1"], server_port=tls_server["port"])
    session = outbound.Session()
    session.verify = tls_server["cafile"]
    assert session.get(f"https://{HOST}/ping").text == "ok"
    with pytest.raises(outbound.UnsafeURL):
        session.get(f"https://{HOST}/ping")
    assert network.connected == [PUBLIC_IP]
