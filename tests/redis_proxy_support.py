"""A TCP proxy in front of a real Redis on loopback, for faults the server alone cannot show. No tests here.

- `tls`: it speaks TLS to its clients (as a managed Redis or stunnel does) with a certificate from a
  throwaway CA, `TestCA`.
- `lose_reply_to(marker)`: the next request that contains `marker` reaches the server, which runs it,
  but its reply never reaches the client: the proxy closes that connection instead, as a failover
  or a network cut can between a command and its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TestCA:
    """A CA and one server certificate it signed, written as PEM files under `directory`."""

    directory: Path
    server_names: tuple[str, ...] = ("127.0.0.1",)  # IP addresses or DNS names the certificate is for
    ca_file: Path = field(init=False)
    cert_file: Path = field(init=False)
    key_file: Path = field(init=False)

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okta-chatops test CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = [_general_name(n) for n in self.server_names]
        cert = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redis")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.directory / "ca.pem"
        self.cert_file = self.directory / "server.pem"
        self.key_file = self.directory / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


class RedisProxy:
    def __init__(self, upstream_port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self._upstream_port = upstream_port
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._lose: bytes | None = None
        self.port = 0
        self.replies_lost = 0

    def lose_reply_to(self, marker: bytes) -> None:
        self._lose = marker

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            client_out.close()
            return
        cut = asyncio.Event()  # set once a request whose reply is to be lost has gone to the server

        async def requests() -> None:
            while data := await client_in.read(65536):
                if self._lose is not None and self._lose in data:
                    self._lose = None
                    cut.set()
                server_out.write(data)
                await server_out.drain()

        async def replies() -> None:
            while data := await server_in.read(65536):
                if cut.is_set():
                    self.replies_lost += 1
                    return  # the server has answered; the client will never see it
                client_out.write(data)
                await client_out.drain()

        tasks = [asyncio.create_task(requests()), asyncio.create_task(replies())]
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in (client_out, server_out):
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
