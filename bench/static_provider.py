#!/usr/bin/env python
"""A provider that answers every request with one recorded answer (bench/api.py
--provider static): the sandbox's own answer to GET /me, bytes for bytes, but without a
Django request and a database query behind it.

    python bench/static_provider.py PORT ANSWER_FILE ACCESS_LOG

One asyncio process on 127.0.0.1:PORT, connections kept alive; the request's head is read
(the benchmark's requests are GETs without a body) and the answer written as recorded.
Each request is logged in gunicorn's access-log form (the request line and the status),
which is all bench/api.py reads from an access log.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


async def serve(port: int, answer: bytes, log_path: Path) -> None:
    status = answer.split(b" ", 2)[1].decode()
    with log_path.open("a", buffering=1) as log:

        async def answer_each(reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    # Logged (a line flushed) before answering: once a client has its
                    # answer, the request is in the log.
                    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                    log.write(f'127.0.0.1 - - [-] "{request_line}" {status} -\n')
                    writer.write(answer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(answer_each, "127.0.0.1", port, reuse_address=True)
        async with server:
            await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("answer", type=Path, help="the whole answer: status line, headers, body")
    parser.add_argument("log", type=Path, help="the access log, appended to")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.answer.read_bytes(), args.log))


if __name__ == "__main__":
    main()
